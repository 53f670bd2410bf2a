"""Reproducers of the paddle.nn.LSTM findings (implementations/expectations/paddle.yaml), with
paddle and NumPy only. Each asserts the deviation as it is today (PaddlePaddle 3.3.1, CPU): when
a test fails, paddle has changed; check the finding and update or remove its expectation entry.
The crashes run in a child process so that they cannot take pytest down."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

paddle = pytest.importorskip("paddle", reason="paddlepaddle not installed (pip install lstm-conformance[paddle])")

UPDATE = "paddle changed: update implementations/expectations/paddle.yaml"


def run_child(body: str) -> subprocess.CompletedProcess:
    code = "import numpy as np, paddle\npaddle.set_device('cpu')\n" + textwrap.dedent(body)
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=45)
    except subprocess.TimeoutExpired:  # a corrupted heap may hang rather than abort
        return subprocess.CompletedProcess(code, -9, "", "hung (killed after 45 s)")


def died(result) -> bool:
    """Killed by a signal (negative return code, 134 = SIGABRT through a shell) or by paddle's
    fatal-signal handler."""
    return (result.returncode < 0 or result.returncode == 134 or "FatalError" in result.stderr
            or "Aborted" in result.stderr or "hung" in result.stderr)


def test_lstm_without_biases_crashes():
    result = run_child("""
        lstm = paddle.nn.LSTM(4, 7, time_major=True, bias_ih_attr=False, bias_hh_attr=False)
        x = paddle.to_tensor(np.random.default_rng(0).uniform(-1, 1, (5, 3, 4)).astype('float32'))
        for _ in range(3):
            y, (h, c) = lstm(x)
            y.numpy()
        print('RAN')
    """)
    # a fatal signal, or an error about a garbage dimension: either way no outputs
    assert "RAN" not in result.stdout, UPDATE
    assert died(result) or "dimension" in result.stderr, (UPDATE, result.stderr[-2000:])


def test_zero_time_steps_crash():
    result = run_child("""
        lstm = paddle.nn.LSTM(4, 7, time_major=True)
        y, (h, c) = lstm(paddle.zeros([0, 3, 4]))
        print('RAN', y.shape, h.shape)
    """)
    assert died(result), (UPDATE, result.returncode, result.stdout, result.stderr[-2000:])


def test_lengths_out_of_range_are_not_checked():
    too_long = run_child("""
        lstm = paddle.nn.LSTM(4, 7, time_major=True)
        x = paddle.to_tensor(np.random.default_rng(0).uniform(-1, 1, (4, 2, 4)).astype('float32'))
        y, _ = lstm(x, None, paddle.to_tensor(np.array([4, 9], dtype='int64')))
        print('RAN', y.shape)
    """)
    negative = run_child("""
        lstm = paddle.nn.LSTM(4, 7, time_major=True)
        x = paddle.to_tensor(np.random.default_rng(0).uniform(-1, 1, (4, 2, 4)).astype('float32'))
        try:
            y, _ = lstm(x, None, paddle.to_tensor(np.array([4, -1], dtype='int64')))
            print('RAN', y.shape)
        except Exception as err:
            print('REJECTED', err)
    """)
    # neither is rejected with an exception: a crash (above T), outputs (negative)
    assert died(too_long), (UPDATE, too_long.returncode, too_long.stdout, too_long.stderr[-1500:])
    assert "REJECTED" not in negative.stdout, UPDATE
    assert died(negative) or "RAN" in negative.stdout, (UPDATE, negative.stderr[-1500:])


def test_projection_outputs_past_the_length_are_not_zero():
    paddle.set_device("cpu")
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 5, 3)).astype("float32")  # batch_first (time_major=False)
    lengths = paddle.to_tensor(np.array([5, 2], dtype="int64"))
    outputs = {}
    for proj in (0, 2):
        paddle.seed(0)
        lstm = paddle.nn.LSTM(3, 4, proj_size=proj)
        with paddle.no_grad():
            y, _ = lstm(paddle.to_tensor(x), None, lengths)
            x2 = x.copy()
            x2[1, 2:] = 7.0  # other padding contents
            y2, _ = lstm(paddle.to_tensor(x2), None, lengths)
        outputs[proj] = (y.numpy(), y2.numpy())
    # without projection (fused kernel): zeros past row 1's length 2, as the spec says
    assert np.all(outputs[0][0][1, 2:] == 0)
    # with projection (LSTMCell loop): non-zero there, and changing with the padding
    y, y2 = outputs[2]
    assert np.abs(y[1, 2:]).max() > 1e-3, UPDATE
    assert np.abs(y[1, 2:] - y2[1, 2:]).max() > 1e-3, UPDATE
    np.testing.assert_array_equal(y[1, :2], y2[1, :2])  # the valid steps are right and unaffected


def _bidirectional_lstm(rng, T=5, B=2, I=3, H=4):
    paddle.set_device("cpu")
    default = paddle.get_default_dtype()
    paddle.set_default_dtype("float64")
    try:
        lstm = paddle.nn.LSTM(I, H, direction="bidirect", time_major=True)
    finally:
        paddle.set_default_dtype(default)
    lstm.train()  # the rnn kernel keeps what its backward needs only in training mode
    leaf = lambda a: paddle.to_tensor(a, stop_gradient=False)  # noqa: E731
    return lstm, leaf(rng.uniform(-1, 1, (T, B, I))), leaf(rng.uniform(-1, 1, (2, B, H))), leaf(rng.uniform(-1, 1, (2, B, H)))


def test_reverse_weight_hh_gradient_with_lengths_and_states():
    """paddle's gradient of the reverse direction's weight_hh against central differences of
    paddle's own forward pass: wrong with a row shorter than T, right with full lengths."""
    lstm, x, h0, c0 = _bidirectional_lstm(np.random.default_rng(0))
    fw, bw = lstm[0].cell_fw, lstm[0].cell_bw
    params = [getattr(cell, n) for cell in (fw, bw) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    weight = bw.weight_hh
    errors = {}
    for lengths in ((5, 3), (5, 5)):
        seq = paddle.to_tensor(np.array(lengths, dtype="int64"))
        loss = lambda: lstm(x, (h0, c0), seq)[0].sum()  # noqa: E731
        grad = paddle.grad(loss(), [x, h0, c0] + params)[3 + 5].numpy()  # bw.weight_hh
        base, numeric = weight.numpy().copy(), np.zeros(weight.shape)
        for idx in np.ndindex(base.shape):
            for sign in (1, -1):
                moved = base.copy()
                moved[idx] += sign * 1e-6
                weight.set_value(moved)
                numeric[idx] += sign * float(loss().numpy()) / 2e-6
        weight.set_value(base)
        errors[lengths] = np.abs(grad - numeric).max()
    assert errors[(5, 5)] < 1e-6, errors  # the method works where paddle is right
    assert errors[(5, 3)] > 1e-2, (UPDATE, errors)


def test_backward_of_an_empty_batch_raises():
    """An empty batch runs in inference mode; in training mode, which the backward needs, the
    rnn kernel raises."""
    paddle.set_device("cpu")
    lstm = paddle.nn.LSTM(3, 4, time_major=True)  # one direction, as the library's batch-0 case
    x = paddle.to_tensor(np.zeros((5, 0, 3), dtype="float32"), stop_gradient=False)
    lstm.eval()
    with paddle.no_grad():
        y, _ = lstm(x)
    assert y.shape == [5, 0, 4]  # inference is right
    lstm.train()
    with pytest.raises(Exception, match="holds no memory"):
        y, _ = lstm(x)
        paddle.grad(y.sum(), [x] + list(lstm.parameters()))
