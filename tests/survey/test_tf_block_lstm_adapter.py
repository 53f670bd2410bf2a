"""The tf-block-lstm adapter: tf.raw_ops.BlockLSTMV2 (and BlockLSTM for forget_bias) passes a few
dozen library cases, peepholes and the state clip included, and a deliberately broken
conversion fails them."""
import pytest

pytest.importorskip("tensorflow", reason="tensorflow not installed (pip install lstm-conformance[tensorflow])")

from lstm_conformance import run  # noqa: E402
from lstm_conformance.implementations.tf_block_lstm import TfBlockLSTMAdapter  # noqa: E402
from lstm_conformance.reference.layouts import tf_block  # noqa: E402

CASES = ["random/*", "state-clip-binds", "forget-bias", "peepholes", "peephole-output-new-explicit", "h0-only", "c0-only", "gate-blocks-distinguishable"]


def records_of(adapter, checks=("forward", "errors")):
    records = run([adapter], filters=CASES, checks=list(checks), dtypes=["float16", "float32"], diagnose=False)
    return [r for r in records if r["status"] != "unsupported"]


def test_block_lstm_passes():
    records = records_of(TfBlockLSTMAdapter())
    assert len(records) >= 30
    bad = [(r["case"], r["check"], r["dtype"], r["status"], r.get("message", "")[:200]) for r in records
           if r["status"] != "pass"]
    assert not bad, bad
    ran = {r["case"] for r in records}
    assert any("clip" in c for c in ran) and any("forget" in c for c in ran) and any("peephole" in c for c in ran)


class WrongGateLayout(TfBlockLSTMAdapter):
    """BlockLSTMV2 fed the ICFO layout of BlockLSTM: the g and f blocks swapped."""

    def prepare(self, problem):
        original = tf_block.GATE_LAYOUTS["ifco"]
        tf_block.GATE_LAYOUTS["ifco"] = tf_block.GATE_LAYOUTS["icfo"]
        try:
            return super().prepare(problem)
        finally:
            tf_block.GATE_LAYOUTS["ifco"] = original


def test_a_broken_conversion_fails():
    records = records_of(WrongGateLayout(), checks=("forward",))
    failed = [r for r in records if r["status"] == "fail"]
    assert len(failed) >= 15, [(r["case"], r["status"]) for r in records]
