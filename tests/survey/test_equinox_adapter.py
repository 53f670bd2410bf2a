"""The equinox adapter: eqx.nn.LSTMCell under jax.lax.scan passes a few dozen library cases in
float32 and float64, gradients (jax.vjp) included, and a deliberately broken conversion
fails them."""
import numpy as np
import pytest

pytest.importorskip("equinox", reason="equinox not installed (pip install lstm-conformance[equinox])")

from lstm_conformance import run  # noqa: E402
from lstm_conformance.implementations import equinox_lstm  # noqa: E402
from lstm_conformance.implementations.equinox_lstm import EquinoxLSTMAdapter  # noqa: E402

CASES = ["random/t5b3i4h7/*", "h0-only", "c0-only", "batch-first", "unbatched-with-state", "no-bias",
         "distinct-biases", "gate-blocks-distinguishable", "batch-0"]


def records_of(adapter, checks=("forward", "errors", "gradients"), dtypes=("float32", "float64")):
    records = run([adapter], filters=CASES, checks=list(checks), dtypes=list(dtypes), diagnose=False)
    return [r for r in records if r["status"] != "unsupported"]


def test_equinox_passes():
    records = records_of(EquinoxLSTMAdapter())
    assert len(records) >= 30
    bad = [(r["case"], r["check"], r["dtype"], r["status"], r.get("message", "")[:200]) for r in records
           if r["status"] != "pass"]
    assert not bad, bad
    assert {"forward", "errors", "gradients"} <= {r["check"] for r in records}
    assert {"float32", "float64"} <= {r["dtype"] for r in records}


class SwappedInputAndForget(EquinoxLSTMAdapter):
    """The cell's fields with the i and f blocks exchanged (a gate order misread)."""

    def prepare(self, problem):
        original = equinox_lstm.to_equinox

        def swapped(cell):
            out = original(cell)
            for key, value in out.items():
                i, f, g, o = np.split(value, 4)
                out[key] = np.concatenate([f, i, g, o])
            return out

        equinox_lstm.to_equinox = swapped
        try:
            return super().prepare(problem)
        finally:
            equinox_lstm.to_equinox = original


def test_a_broken_conversion_fails():
    records = records_of(SwappedInputAndForget(), checks=("forward",), dtypes=("float32",))
    failed = [r for r in records if r["status"] == "fail"]
    assert len(failed) >= 8, [(r["case"], r["status"]) for r in records]


def test_float64_runs_in_float64_without_switching_jax_to_64_bit_for_the_process():
    import jax

    records = run([EquinoxLSTMAdapter()], filters=["float64-only-precision"], checks=["forward"], diagnose=False)
    assert [r["status"] for r in records] == ["pass"], records  # float32 arithmetic fails this case
    assert not jax.config.jax_enable_x64  # other JAX adapters of the same run keep their defaults
