"""The haiku adapter: hk.LSTM under hk.dynamic_unroll passes a few dozen library cases (layers
through hk.DeepRNN, reverse, batch_first, forget_bias and no bias mapped onto Haiku's fixed + 1
forget offset) in float32 and float64, gradients (jax.vjp) included; an adapter that
forgets the + 1 offset fails them."""
import pytest

pytest.importorskip("haiku", reason="dm-haiku not installed (pip install lstm-conformance[haiku])")

from lstm_conformance import run  # noqa: E402
from lstm_conformance.implementations import haiku_lstm  # noqa: E402
from lstm_conformance.implementations.haiku_lstm import HaikuLSTMAdapter  # noqa: E402

CASES = ["random/t5b3i4h7/*", "h0-only", "c0-only", "batch-first", "unbatched-with-state", "no-bias",
         "multi-layer/l2", "reverse", "reverse-unbatched", "forget-bias/*", "gate-blocks-distinguishable"]


def records_of(adapter, checks=("forward", "errors", "gradients"), dtypes=("float32", "float64")):
    records = run([adapter], filters=CASES, checks=list(checks), dtypes=list(dtypes), diagnose=False)
    return [r for r in records if r["status"] != "unsupported"]


def test_haiku_passes():
    records = records_of(HaikuLSTMAdapter())
    assert len(records) >= 40
    bad = [(r["case"], r["check"], r["dtype"], r["status"], r.get("message", "")[:200]) for r in records
           if r["status"] != "pass"]
    assert not bad, bad
    ran = {r["case"] for r in records}
    assert {"multi-layer/l2", "reverse", "forget-bias/plus1", "forget-bias/minus2", "no-bias"} <= ran


class NoForgetOffset(HaikuLSTMAdapter):
    """Canonical biases handed to hk.LSTM as they are: Haiku's + 1 on the forget gate not undone."""

    def prepare(self, problem):
        original = haiku_lstm.to_haiku
        haiku_lstm.to_haiku = lambda cell, forget_bias=0.0: original(cell, forget_bias + 1.0)
        try:
            return super().prepare(problem)
        finally:
            haiku_lstm.to_haiku = original


def test_ignoring_the_forget_offset_fails():
    records = records_of(NoForgetOffset(), checks=("forward",), dtypes=("float32",))
    failed = [r for r in records if r["status"] == "fail"]
    assert len(failed) >= 10, [(r["case"], r["status"]) for r in records]
