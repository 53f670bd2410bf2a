"""Equinox LSTMCell fields: names and shapes, round trips, and a forward pass in Equinox terms."""
import numpy as np
import pytest
from layout_formulas import assert_forward_matches_reference, random_cell, sigmoid
from round_trips import assert_same_arrays, assert_weights_and_bias_sum_kept

from lstm_conformance.reference.layouts.cells import LayoutError
from lstm_conformance.reference.layouts.equinox import from_equinox, to_equinox


def equinox_forward(fields: dict, x, h, c):
    """eqx.nn.LSTMCell.__call__ scanned over time: lin = weight_ih @ x + weight_hh @ h + bias,
    split i, f, g, o (here on a batch of rows, so x_t @ W.T)."""
    ys = []
    for x_t in x:
        lin = x_t @ fields["weight_ih"].T + h @ fields["weight_hh"].T + fields.get("bias", 0.0)
        i, f, g, o = np.split(lin, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys), h, c


def test_fields_are_the_canonical_weights_and_the_bias_sum():
    cell = random_cell(np.random.default_rng(1), input_size=3, hidden_size=5)
    fields = to_equinox(cell)
    assert set(fields) == {"weight_ih", "weight_hh", "bias"}
    np.testing.assert_array_equal(fields["weight_ih"], cell["weight_ih"])
    np.testing.assert_array_equal(fields["bias"], cell["bias_ih"] + cell["bias_hh"])


def test_round_trips():
    cell = random_cell(np.random.default_rng(2))
    assert_weights_and_bias_sum_kept(from_equinox(to_equinox(cell)), cell)
    fields = to_equinox(random_cell(np.random.default_rng(3)))
    assert_same_arrays(to_equinox(from_equinox(fields)), fields)


def test_bias_free_cell_has_no_bias_field_and_comes_back_without_bias():
    fields = to_equinox(random_cell(np.random.default_rng(4), bias=False))
    assert "bias" not in fields
    assert "bias_ih" not in from_equinox({**fields, "bias": None})


def test_forward_in_equinox_terms_matches_the_reference():
    assert_forward_matches_reference(to_equinox, equinox_forward, seed=5)


def test_refusals():
    with pytest.raises(LayoutError, match="Equinox LSTMCell has no place for peephole"):
        to_equinox(random_cell(np.random.default_rng(6), peepholes=True))
    fields = to_equinox(random_cell(np.random.default_rng(7)))
    with pytest.raises(LayoutError, match="weight_hh has shape"):
        from_equinox({**fields, "weight_hh": fields["weight_hh"][:, :-1]})
    with pytest.raises(LayoutError, match="expected weight_ih, weight_hh"):
        from_equinox({**fields, "use_bias": True})
