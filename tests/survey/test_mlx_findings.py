"""Reproducer of the mlx.nn.LSTM finding (implementations/expectations/mlx.yaml), with MLX and
NumPy only: in float64 the LSTM (and mx.sigmoid under it) has float32 accuracy, because MLX's
CPU exp is a float32 approximation also for double (ml-explore/mlx#3047, MLX 0.32.4). When these
tests fail, MLX computes float64 in float64 now: update the expectations file."""
import numpy as np
import pytest

mx = pytest.importorskip("mlx.core", reason="mlx not installed (pip install lstm-conformance[mlx])")
nn = pytest.importorskip("mlx.nn", reason="mlx not installed (pip install lstm-conformance[mlx])")

FLOAT64_TOLERANCE = (1e-10, 1e-9)  # SPEC.md §11: atol, rtol


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def numpy_lstm(x, w_ih, w_hh, bias):
    """The LSTM equations in float64, batch first (B, T, I), zero initial state; blocks i, f, g, o."""
    hidden = w_hh.shape[1]
    h, c = np.zeros((x.shape[0], hidden)), np.zeros((x.shape[0], hidden))
    ys = []
    for t in range(x.shape[1]):
        i, f, g, o = np.split(x[:, t] @ w_ih.T + h @ w_hh.T + bias, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys, axis=1)


def test_float64_sigmoid_has_float32_accuracy():
    z = np.linspace(-8.0, 8.0, 2001)
    got = np.array(mx.sigmoid(mx.array(z, dtype=mx.float64)))
    assert got.dtype == np.float64
    relative = np.abs(got - sigmoid(z)) / sigmoid(z)
    assert relative.max() > 1e-9, relative.max()  # float64 would be ~1e-16
    assert relative.max() < 1e-6  # float32-class, not a wrong function
    # tanh in float64 is correctly rounded: the defect is the exp under sigmoid
    assert np.abs(np.array(mx.tanh(mx.array(z, dtype=mx.float64))) - np.tanh(z)).max() < 1e-15


def test_float64_lstm_has_float32_accuracy():
    rng = np.random.default_rng(0)
    batch, steps, inputs, hidden = 3, 6, 4, 5
    x = rng.uniform(-1, 1, (batch, steps, inputs))
    w_ih, w_hh = rng.uniform(-1, 1, (4 * hidden, inputs)), rng.uniform(-1, 1, (4 * hidden, hidden))
    bias = rng.uniform(-1, 1, 4 * hidden)
    lstm = nn.LSTM(inputs, hidden)
    lstm.update({name: mx.array(value, dtype=mx.float64) for name, value in
                 (("Wx", w_ih), ("Wh", w_hh), ("bias", bias))})
    y, _ = lstm(mx.array(x, dtype=mx.float64))
    got, expected = np.array(y), numpy_lstm(x, w_ih, w_hh, bias)
    assert got.dtype == np.float64
    atol, rtol = FLOAT64_TOLERANCE
    assert not np.allclose(got, expected, atol=atol, rtol=rtol), np.abs(got - expected).max()
    assert np.allclose(got, expected, atol=1e-6, rtol=1e-6)  # the right LSTM, at float32 accuracy
