"""A bidirectional LSTM whose recurrence is right but whose two directions are assembled in the
wrong order (y's halves, or h_n's and c_n's direction slices) is named for exactly that, in one
and two layers, batch-first, unbatched and with lengths; so is a stack whose layers above 0 read
the layer below's directions in the wrong order, and a stack whose reverse outputs are not
re-aligned in time (each layer reading the misaligned outputs of the one below)."""
import dataclasses

import numpy as np
import pytest

from lstm_conformance.diagnosis.rerun import layer_by_layer
from lstm_conformance.harness.runner import run_case, run_suite
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.mutants import zoo
from lstm_conformance.reference import lstm_forward
from lstm_conformance.report.summary import problem_groups
from lstm_conformance.spec.materialize import materialize
from lstm_conformance.spec.model import state_shapes

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


BETWEEN_LAYERS = ("layers 1 and up read the layer below's output with its two direction halves in the wrong order "
                  "(the reverse direction's first; spec: forward then reverse)")


class LayersReadDirectionsSwapped(NumpyAdapter):
    """A stack of one-layer bidirectional LSTMs (numpy's, one call per layer) in which each layer
    above 0 reads [reverse, forward] of the layer below; y, h_n and c_n are assembled correctly.
    The bug is written out as the concatenation it is, not as the diagnosis models it."""
    name = "layers-read-directions-swapped"

    def prepare(self, problem):
        cfg, P = problem.config, problem.config.output_size
        shapes = state_shapes(cfg, problem.batch)
        h0, c0 = (np.zeros(shapes[k]) if v is None else v for k, v in (("h0", problem.h0), ("c0", problem.c0)))

        def run():
            layer_in, h_n, c_n = problem.x, [], []
            for layer in range(cfg.num_layers):
                config = dataclasses.replace(cfg, num_layers=1, input_size=layer_in.shape[-1])
                params = {k.replace(f"_l{layer}", "_l0"): v for k, v in problem.params.items()
                          if k.endswith((f"_l{layer}", f"_l{layer}_reverse"))}
                one = dataclasses.replace(problem, config=config, x=layer_in, h0=h0[2 * layer:2 * layer + 2],
                                          c0=c0[2 * layer:2 * layer + 2], params=params, lengths=None)
                out = super(LayersReadDirectionsSwapped, self).prepare(one)()
                h_n.append(out["h_n"])
                c_n.append(out["c_n"])
                y = out["y"]
                layer_in = np.concatenate([y[..., P:], y[..., :P]], axis=-1)  # the bug: reverse first
            return {"y": y, "h_n": np.concatenate(h_n), "c_n": np.concatenate(c_n)}
        return run


@pytest.mark.parametrize("case", ["bidirectional-multi-layer", "bidirectional-multi-layer-projection"])
def test_layers_reading_the_directions_swapped_are_named(cases, case):
    assert cases[case].config.num_layers == 2 and not cases[case].config.batch_first
    record = run_case(cases[case], "float64", LayersReadDirectionsSwapped())
    assert record["status"] == "fail"
    assert record["diagnosis"]["patterns"] == [BETWEEN_LAYERS]
    assert record["diagnosis"]["defects"] == ["directions-swapped-between-layers"]


REVERSE_MISALIGNED = "reverse direction's outputs not re-aligned in time"
STACKS = ["bidirectional-multi-layer", "batch-first-bidirectional-multi-layer", "bidirectional-multi-layer-projection",
          "unbatched-bidirectional-multi-layer"]


@pytest.mark.parametrize("case", STACKS)
def test_a_misaligned_reverse_direction_is_named_in_a_stack(cases, case):
    # the zoo's control LSTM stores its reverse outputs in processing order, and its layer 1
    # reads them so: the diagnosis re-runs the reference layer by layer with the same defect
    assert cases[case].config.num_layers == 2
    record = run_case(cases[case], "float64", zoo.ReverseMisaligned())
    assert record["status"] == "fail" and record["diagnosis"]["patterns"] == [REVERSE_MISALIGNED]


def test_a_misaligned_stack_fails_forward_and_gradients_in_one_group(cases):
    records = run_suite([cases["bidirectional-multi-layer"]], [zoo.ReverseMisaligned()], ["float64"],
                        checks=["forward", "gradients"])
    failing = [r for r in records if r["status"] == "fail"]
    assert {r["check"] for r in failing} == {"forward", "gradients"}
    assert [(g.label, g.count) for g in problem_groups(failing)] == [(f"diagnosis: {REVERSE_MISALIGNED}", 2)]


@pytest.mark.parametrize("case", STACKS + ["lengths-bidirectional-multi-layer/batch-first", "multi-layer/l3",
                                           "peepholes-bidirectional-multi-layer", "state-order-layers-directions"])
def test_the_layer_by_layer_rerun_without_a_defect_is_the_reference(cases, case):
    problem = materialize(cases[case], "float64")
    want = lstm_forward(problem.config, problem.x, problem.params, problem.h0, problem.c0, problem.lengths).as_dict()
    got = layer_by_layer(problem, lambda config, y, c: (y, c))
    for name in ("y", "c", "h_n", "c_n"):
        assert got[name].shape == want[name].shape and np.array_equal(got[name], want[name]), name
