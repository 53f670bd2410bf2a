"""Independent LSTM forward passes, each written in one layout's own terms.

They read the converted arrays exactly as that convention's code does (Keras's fused kernel
split i, f, c, o; ONNX's iofc blocks and iof peepholes; Flax's named Dense layers; ...),
so a converter that puts a block in the wrong place gives a different output than the
canonical reference. Standard activations (σ gates, tanh cell input and output).
States: h0, c0 of shape (B, H) for one cell; ONNX takes [D, B, H].
assert_forward_matches_reference runs one of them against the reference.
"""
from __future__ import annotations

import numpy as np

from lstm_conformance.reference import lstm_forward
from lstm_conformance.reference.layouts import suffixed
from lstm_conformance.spec.model import LSTMConfig


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def random_cell(rng, input_size=4, hidden_size=6, bias=True, peepholes=False) -> dict:
    """A canonical cell with every entry different, so any misplaced block shows."""
    H = hidden_size
    cell = {"weight_ih": rng.uniform(-1, 1, (4 * H, input_size)), "weight_hh": rng.uniform(-1, 1, (4 * H, H))}
    if bias:
        cell["bias_ih"] = rng.uniform(-1, 1, 4 * H)
        cell["bias_hh"] = rng.uniform(-1, 1, 4 * H)
    if peepholes:
        cell["peephole"] = rng.uniform(-1, 1, (3, H))
    return cell


def config_for(cell: dict, **options) -> LSTMConfig:
    hidden, inputs = cell["weight_ih"].shape[0] // 4, cell["weight_ih"].shape[1]
    return LSTMConfig(input_size=inputs, hidden_size=hidden, bias="bias_ih" in cell,
                      peepholes="peephole" in cell, **options)


def keras_forward(w: dict, x, h, c, names=("kernel", "recurrent_kernel", "bias")):
    """Keras LSTMCell.call (implementation 2): z = x @ kernel + h @ recurrent_kernel + bias,
    then z0..z3 are i, f, c, o. Also the textbook's vectorised form with names W, U, bias."""
    kernel, recurrent, bias = names
    ys = []
    for x_t in x:
        z = x_t @ w[kernel] + h @ w[recurrent] + w.get(bias, 0.0)
        z0, z1, z2, z3 = np.split(z, 4, axis=-1)
        i, f, o = sigmoid(z0), sigmoid(z1), sigmoid(z3)
        c = f * c + i * np.tanh(z2)
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys), h, c


def onnx_forward(t: dict, x, h0, c0):
    """The equations of the ONNX LSTM spec, blocks iofc, peepholes iof; direction 1 runs
    backwards in time. Returns Y [T, D, B, H], Y_h and Y_c [D, B, H]."""
    dirs, four_h, _ = t["W"].shape
    H = four_h // 4
    steps = x.shape[0]
    y = np.zeros((steps, dirs, x.shape[1], H))
    y_h, y_c = np.zeros_like(h0), np.zeros_like(c0)
    for d in range(dirs):
        w_i, w_o, w_f, w_c = np.split(t["W"][d], 4)
        r_i, r_o, r_f, r_c = np.split(t["R"][d], 4)
        b = t["B"][d] if "B" in t else np.zeros(8 * H)
        wb_i, wb_o, wb_f, wb_c, rb_i, rb_o, rb_f, rb_c = np.split(b, 8)
        p_i, p_o, p_f = np.split(t["P"][d], 3) if "P" in t else (0.0, 0.0, 0.0)
        h, c = h0[d], c0[d]
        for step in (range(steps - 1, -1, -1) if d else range(steps)):
            x_t = x[step]
            i = sigmoid(x_t @ w_i.T + h @ r_i.T + p_i * c + wb_i + rb_i)
            f = sigmoid(x_t @ w_f.T + h @ r_f.T + p_f * c + wb_f + rb_f)
            g = np.tanh(x_t @ w_c.T + h @ r_c.T + wb_c + rb_c)
            c = f * c + i * g
            o = sigmoid(x_t @ w_o.T + h @ r_o.T + p_o * c + wb_o + rb_o)
            h = o * np.tanh(c)
            y[step, d] = h
        y_h[d], y_c[d] = h, c
    return y, y_h, y_c


def flax_forward(tree: dict, x, h, c):
    """flax.linen.LSTMCell.__call__ scanned over time: i = σ(ii(x) + hi(h)), ... Dense
    kernels are (in, out), the hidden-side Dense carries the bias."""
    def dense(name, v):
        layer = tree[name]
        return v @ layer["kernel"] + layer.get("bias", 0.0)

    ys = []
    for x_t in x:
        i = sigmoid(dense("ii", x_t) + dense("hi", h))
        f = sigmoid(dense("if", x_t) + dense("hf", h))
        g = np.tanh(dense("ig", x_t) + dense("hg", h))
        o = sigmoid(dense("io", x_t) + dense("ho", h))
        c = f * c + i * g
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys), h, c


def per_gate_right_forward(w: dict, x, h, c):
    """TEXTBOOK.md §2 naive / §5: z_g = x @ W_x{g} + h @ W_h{g} + b_{g}."""
    def z(g, x_t, h):
        return x_t @ w[f"W_x{g}"] + h @ w[f"W_h{g}"] + w.get(f"b_{g}", 0.0)

    ys = []
    for x_t in x:
        i, f, o = sigmoid(z("i", x_t, h)), sigmoid(z("f", x_t, h)), sigmoid(z("o", x_t, h))
        c = f * c + i * np.tanh(z("g", x_t, h))
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys), h, c


def per_gate_column_forward(w: dict, x, h, c):
    """TEXTBOOK.md §4: column vectors, z_g = W_i{g} x + b_i{g} + W_h{g} h + b_h{g}. The batch rides
    along as columns: x_t.T is (I, B), states are (H, B) inside and (B, H) outside."""
    def z(g, x_col, h_col):
        return (w[f"W_i{g}"] @ x_col + w.get(f"b_i{g}", 0.0) + w[f"W_h{g}"] @ h_col + w.get(f"b_h{g}", 0.0))

    h_col, c_col = h.T, c.T
    ys = []
    for x_t in x:
        x_col = x_t.T
        i, f, o = sigmoid(z("i", x_col, h_col)), sigmoid(z("f", x_col, h_col)), sigmoid(z("o", x_col, h_col))
        c_col = f * c_col + i * np.tanh(z("g", x_col, h_col))
        h_col = o * np.tanh(c_col)
        ys.append(h_col.T)
    return np.stack(ys), h_col.T, c_col.T


def swap_input_and_forget(cell: dict) -> dict:
    """The gate-order bug of TEXTBOOK.md §1: the i and f blocks exchanged in every (4H, ...) array."""
    out = {}
    for key, value in cell.items():
        if key.startswith(("weight_ih", "weight_hh", "bias_")):
            i, f, g, o = np.split(value, 4)
            value = np.concatenate([f, i, g, o])
        out[key] = value
    return out


def assert_forward_matches_reference(to_layout, forward, seed):
    """forward(to_layout(cell), x, h0, c0) gives the reference's y, h_n and c_n for a random
    cell, and the same comparison would catch a converter that swapped the i and f blocks."""
    rng = np.random.default_rng(seed)
    cell = random_cell(rng)
    x, h0, c0 = rng.uniform(-1, 1, (5, 3, 4)), rng.uniform(-1, 1, (3, 6)), rng.uniform(-2, 2, (3, 6))
    expected = lstm_forward(config_for(cell), x, suffixed(cell), h0[None], c0[None])
    y, h, c = forward(to_layout(cell), x, h0, c0)
    np.testing.assert_allclose(y, expected.y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h, expected.h_n[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c, expected.c_n[0], rtol=1e-12, atol=1e-12)
    y_wrong, _, _ = forward(to_layout(swap_input_and_forget(cell)), x, h0, c0)
    assert np.abs(y_wrong - expected.y).max() > 1e-2
