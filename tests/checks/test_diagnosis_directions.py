"""A bidirectional LSTM whose recurrence is right but whose two directions are assembled in the
wrong order (y's halves, or h_n's and c_n's direction slices) is named for exactly that, in one
and two layers, batch-first, unbatched and with lengths."""
import numpy as np
import pytest

from lstm_conformance.harness.runner import run_case
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter

Y_SWAPPED = "y's two direction halves in the wrong order (the reverse direction's first; spec: forward then reverse)"
STATE_SWAPPED = ("h_n and c_n's direction slices in the wrong order (the reverse direction's first; spec: layer by "
                 "layer, forward then reverse)")
CASES = ["bidirectional", "bidirectional-multi-layer-projection", "layout-grid/batch-first/bidirectional",
         "unbatched-bidirectional-multi-layer", "lengths-bidirectional/unsorted"]



class YHalvesSwapped(NumpyAdapter):
    name = "y-halves-swapped"

    def prepare(self, problem):
        run, half = super().prepare(problem), problem.config.output_size

        def swapped():
            out = dict(run())
            out["y"] = np.concatenate([out["y"][..., half:], out["y"][..., :half]], axis=-1)
            return out
        return swapped


class StateSlicesSwapped(NumpyAdapter):
    name = "state-slices-swapped"

    def prepare(self, problem):
        run = super().prepare(problem)
        order = [2 * layer + (1 - d) for layer in range(problem.config.num_layers) for d in range(2)]
        return lambda: {k: (v[order] if k in ("h_n", "c_n") else v) for k, v in run().items()}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("adapter, text", [(YHalvesSwapped, Y_SWAPPED), (StateSlicesSwapped, STATE_SWAPPED)])
def test_directions_in_the_wrong_order_are_named(cases, case, adapter, text):
    record = run_case(cases[case], "float64", adapter())
    assert record["status"] == "fail"
    assert record["diagnosis"]["patterns"] == [text]


@pytest.mark.parametrize("case", CASES)
def test_the_correct_implementation_passes_those_cases(cases, case):
    assert run_case(cases[case], "float64", NumpyAdapter())["status"] == "pass"
