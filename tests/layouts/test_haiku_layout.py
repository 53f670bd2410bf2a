"""Haiku hk.LSTM linear layer: gate order i, g, f, o, the stacked [x, h] weight, the + 1
forget offset, round trips, and a forward pass in Haiku terms."""
import numpy as np
import pytest
from layout_formulas import assert_forward_matches_reference, random_cell, sigmoid
from round_trips import assert_weights_and_bias_sum_kept

from lstm_conformance.reference import lstm_forward
from lstm_conformance.reference.layouts import suffixed
from lstm_conformance.reference.layouts.cells import LayoutError
from lstm_conformance.reference.layouts.haiku import from_haiku, to_haiku
from lstm_conformance.spec.model import LSTMConfig


def haiku_forward(linear: dict, x, h, c):
    """hk.LSTM.__call__ over time: gated = [x, h] @ w + b, split i, g, f, o, f = σ(f + 1)."""
    ys = []
    for x_t in x:
        gated = np.concatenate([x_t, h], axis=-1) @ linear["w"] + linear["b"]
        i, g, f, o = np.split(gated, 4, axis=-1)
        c = sigmoid(f + 1) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys), h, c


def test_blocks_are_i_g_f_o_and_the_forget_bias_carries_minus_one():
    cell = random_cell(np.random.default_rng(1), input_size=3, hidden_size=5)
    linear = to_haiku(cell)
    assert linear["w"].shape == (8, 20) and linear["b"].shape == (20,)
    # columns 5..10 are Haiku's g block: canonical rows 10..15, x rows first, then h rows.
    np.testing.assert_array_equal(linear["w"][:3, 5:10], cell["weight_ih"][10:15].T)
    np.testing.assert_array_equal(linear["w"][3:, 5:10], cell["weight_hh"][10:15].T)
    bias = cell["bias_ih"] + cell["bias_hh"]
    np.testing.assert_array_equal(linear["b"][10:15], bias[5:10] - 1.0)
    np.testing.assert_array_equal(to_haiku(cell, forget_bias=1.0)["b"][10:15], bias[5:10])


def test_round_trips():
    cell = random_cell(np.random.default_rng(2))
    # the forget block's bias takes - 1 and gets + 1 back: equal but for rounding
    assert_weights_and_bias_sum_kept(from_haiku(to_haiku(cell), input_size=4), cell, atol=1e-15)
    rng = np.random.default_rng(3)
    linear = {"w": rng.uniform(-1, 1, (7, 12)), "b": rng.uniform(-1, 1, 12)}
    again = to_haiku(from_haiku(linear, input_size=4))
    np.testing.assert_array_equal(again["w"], linear["w"])
    np.testing.assert_allclose(again["b"], linear["b"], rtol=0, atol=1e-15)
    # with the configuration's forget_bias on both sides the round trip keeps the bias too
    assert_weights_and_bias_sum_kept(from_haiku(to_haiku(cell, forget_bias=1.0), input_size=4, forget_bias=1.0), cell)


def test_forward_in_haiku_terms_matches_the_reference():
    assert_forward_matches_reference(to_haiku, haiku_forward, seed=4)


def test_forget_bias_and_no_bias_keep_the_canonical_function():
    rng = np.random.default_rng(5)
    cell = random_cell(rng, bias=False)
    x, h0, c0 = rng.uniform(-1, 1, (4, 2, 4)), rng.uniform(-1, 1, (2, 6)), rng.uniform(-1, 1, (2, 6))
    for forget_bias in (0.0, 1.5):
        config = LSTMConfig(input_size=4, hidden_size=6, bias=False, forget_bias=forget_bias)
        expected = lstm_forward(config, x, suffixed(cell), h0[None], c0[None])
        y, h, c = haiku_forward(to_haiku(cell, forget_bias=forget_bias), x, h0, c0)
        np.testing.assert_allclose(y, expected.y, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(c, expected.c_n[0], rtol=1e-12, atol=1e-12)
    # without the - 1 the forget gate would see Haiku's + 1 and differ
    wrong = to_haiku(cell)
    wrong["b"] = np.zeros(24)
    assert np.abs(haiku_forward(wrong, x, h0, c0)[0] - expected.y).max() > 1e-2


def test_refusals():
    with pytest.raises(LayoutError, match="Haiku LSTM has no place for peephole"):
        to_haiku(random_cell(np.random.default_rng(6), peepholes=True))
    linear = to_haiku(random_cell(np.random.default_rng(7)))
    with pytest.raises(LayoutError, match=r"params\['lstm/linear'\]"):
        from_haiku({"lstm/linear": linear}, input_size=4)
    with pytest.raises(LayoutError, match="I \\+ H = 5 \\+ 6"):
        from_haiku(linear, input_size=5)
