"""The haiku adapter: hk.LSTM under hk.dynamic_unroll passes a few dozen library cases (layers
through hk.DeepRNN, reverse, batch_first, forget_bias and no bias mapped onto Haiku's fixed + 1
forget offset) in float32 and float64, gradients (jax.vjp) included; an adapter that
forgets the + 1 offset fails them."""
import pytest

pytest.importorskip("haiku", reason="dm-haiku not installed (pip install lstm-conformance[haiku])")

from library_checks import assert_fails, assert_passes, broken_adapter, library_records  # noqa: E402

from lstm_conformance.implementations import haiku_lstm  # noqa: E402
from lstm_conformance.implementations.haiku_lstm import HaikuLSTMAdapter  # noqa: E402

CASES = ["random/t5b3i4h7/*", "h0-only", "c0-only", "batch-first", "unbatched-with-state", "no-bias",
         "multi-layer/l2", "reverse", "reverse-unbatched", "forget-bias/*", "gate-blocks-distinguishable"]


def test_haiku_passes():
    records = library_records(HaikuLSTMAdapter(), CASES, ("forward", "errors", "gradients"), ("float32", "float64"))
    assert_passes(records, at_least=40)
    ran = {r["case"] for r in records}
    assert {"multi-layer/l2", "reverse", "forget-bias/plus1", "forget-bias/minus2", "no-bias"} <= ran


def test_ignoring_the_forget_offset_fails():
    """Canonical biases handed to hk.LSTM as they are: Haiku's + 1 on the forget gate not undone."""
    def without_offset(to_haiku):
        return lambda cell, forget_bias=0.0: to_haiku(cell, forget_bias + 1.0)

    adapter = broken_adapter(HaikuLSTMAdapter, haiku_lstm, "to_haiku", without_offset)
    assert_fails(library_records(adapter, CASES, ("forward",), ("float32",)), at_least=10)
