"""The tf-block-lstm adapter: tf.raw_ops.BlockLSTMV2 (and BlockLSTM for forget_bias) passes a few
dozen library cases, peepholes and the state clip included, and a deliberately broken
conversion fails them."""
import pytest

pytest.importorskip("tensorflow", reason="tensorflow not installed (pip install lstm-conformance[tensorflow])")

from library_checks import assert_fails, assert_passes, broken_adapter, library_records  # noqa: E402

from lstm_conformance.implementations import tf_block_lstm  # noqa: E402
from lstm_conformance.implementations.tf_block_lstm import TfBlockLSTMAdapter  # noqa: E402

CASES = ["random/*", "state-clip-binds", "forget-bias", "peepholes", "peephole-output-new-explicit", "h0-only", "c0-only", "gate-blocks-distinguishable"]
DTYPES = ("float16", "float32")


def test_block_lstm_passes():
    records = library_records(TfBlockLSTMAdapter(), CASES, ("forward", "errors"), DTYPES)
    assert_passes(records, at_least=30)
    ran = {r["case"] for r in records}
    assert any("clip" in c for c in ran) and any("forget" in c for c in ran) and any("peephole" in c for c in ran)


def test_a_broken_conversion_fails():
    """BlockLSTMV2 fed the ICFO layout of BlockLSTM: the g and f blocks swapped."""
    def icfo_for_ifco(to_tf_block):
        return lambda cell, layout: to_tf_block(cell, "icfo" if layout == "ifco" else layout)

    adapter = broken_adapter(TfBlockLSTMAdapter, tf_block_lstm, "to_tf_block", icfo_for_ifco)
    assert_fails(library_records(adapter, CASES, ("forward",), DTYPES), at_least=15)
