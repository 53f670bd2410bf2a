"""The paddle adapter: paddle.nn.LSTM passes a few dozen library cases with its shipped
expectations applied, and a deliberately broken conversion fails them."""
import pytest

pytest.importorskip("paddle", reason="paddlepaddle not installed (pip install lstm-conformance[paddle])")

from library_checks import assert_fails, assert_passes, broken_adapter, input_and_forget_swapped, library_records  # noqa: E402

from lstm_conformance.implementations import paddle_lstm  # noqa: E402
from lstm_conformance.implementations.paddle_lstm import PaddleLSTMAdapter  # noqa: E402

# gate order, two biases, projection, bidirect, layers, batch_first, lengths, states, and a
# no-bias case that the shipped expectations mark as a paddle crash
CASES = ["random/t5b3i4h7/*", "bidirectional-two-layers*", "projection*", "lengths-*", "h0-only", "c0-only",
         "batch-first*", "gate-blocks-distinguishable", "no-bias"]
DTYPES = ("float32", "float64")


def test_paddle_passes_with_its_expectations():
    records = library_records(PaddleLSTMAdapter(), CASES, ("forward", "errors"), DTYPES)
    assert_passes(records, at_least=30, allowed=("pass", "xfail"))
    assert any(r["status"] == "xfail" and r["case"] == "no-bias" for r in records)
    assert sum(r["status"] == "pass" for r in records) >= 30


def test_a_broken_conversion_fails():
    """The input and forget blocks of bias_ih swapped: a wrong conversion to paddle's layout."""
    adapter = broken_adapter(PaddleLSTMAdapter, paddle_lstm, "cell_params", input_and_forget_swapped("bias_ih"))
    assert_fails(library_records(adapter, CASES, ("forward",), DTYPES), at_least=20)


def test_the_adapter_refuses_what_would_crash_paddle():
    assert "bias_ih_attr=False" in paddle_lstm.NO_BIAS_CRASH
    assert "T = 0" in paddle_lstm.SEQ_LEN_0_CRASH
