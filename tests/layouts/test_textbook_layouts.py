"""The textbook layouts of docs/TEXTBOOK.md §2, §4, §5: round trips and forward passes in their terms."""
import numpy as np
import pytest
from layout_formulas import (assert_forward_matches_reference, config_for, keras_forward, per_gate_column_forward,
                             per_gate_right_forward, random_cell)
from round_trips import assert_same_arrays, assert_weights_and_bias_sum_kept

from lstm_conformance.reference import lstm_forward
from lstm_conformance.reference.layouts import (LayoutError, from_per_gate_column, from_per_gate_right,
                                                from_vectorised, suffixed, to_per_gate_column,
                                                to_per_gate_right, to_vectorised)


def vectorised_forward(w, x, h, c):
    return keras_forward(w, x, h, c, names=("W", "U", "bias"))


# (to, from, forward pass in the layout's terms, keeps both biases)
LAYOUTS = {
    "per-gate-right": (to_per_gate_right, from_per_gate_right, per_gate_right_forward, False),
    "per-gate-column": (to_per_gate_column, from_per_gate_column, per_gate_column_forward, True),
    "vectorised": (to_vectorised, from_vectorised, vectorised_forward, False),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_canonical_to_layout_and_back(layout):
    to, back_from, _, exact = LAYOUTS[layout]
    cell = random_cell(np.random.default_rng(1))
    back = back_from(to(cell))
    if exact:
        assert_same_arrays(back, cell)
    else:  # one bias per gate: the sum, in bias_ih
        assert_weights_and_bias_sum_kept(back, cell)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("bias", [True, False])
def test_layout_to_canonical_and_back_is_exact(layout, bias):
    to, back_from, _, _ = LAYOUTS[layout]
    original = to(random_cell(np.random.default_rng(2), bias=bias))
    assert_same_arrays(to(back_from(original)), original)


def test_documented_names_and_shapes():
    cell = random_cell(np.random.default_rng(3), input_size=3, hidden_size=5)
    right = to_per_gate_right(cell)
    assert right["W_xg"].shape == (3, 5) and right["W_hg"].shape == (5, 5) and right["b_g"].shape == (5,)
    np.testing.assert_array_equal(right["W_xf"], cell["weight_ih"][5:10].T)
    column = to_per_gate_column(cell)
    assert column["W_ig"].shape == (5, 3) and column["b_hg"].shape == (5, 1)
    np.testing.assert_array_equal(column["b_ho"][:, 0], cell["bias_hh"][15:])
    vec = to_vectorised(cell)
    assert vec["W"].shape == (3, 20) and vec["U"].shape == (5, 20) and vec["bias"].shape == (20,)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_forward_in_the_layouts_terms_matches_the_reference(layout):
    to, _, forward, _ = LAYOUTS[layout]
    assert_forward_matches_reference(to, forward, seed=4)


def test_seeds_section_4_check_through_the_column_layout():
    """TEXTBOOK.md §4: all weights 0.5, x = ones(10), h0 = c0 = ones(20), one step, compared with
    the canonical model given the same weights (here: the reference)."""
    H, I = 20, 10
    column = {f"W_i{g}": np.full((H, I), 0.5) for g in "ifgo"}
    column.update({f"W_h{g}": np.full((H, H), 0.5) for g in "ifgo"})
    column.update({f"b_{s}{g}": np.full((H, 1), 0.5) for s in "ih" for g in "ifgo"})
    x, h0, c0 = np.ones((1, 1, I)), np.ones((1, H)), np.ones((1, H))
    cell = from_per_gate_column(column)
    expected = lstm_forward(config_for(cell), x, suffixed(cell), h0[None], c0[None])
    y, _, c = per_gate_column_forward(column, x, h0, c0)
    # z = 0.5·10 + 0.5 + 0.5·20 + 0.5 = 16 for every gate: c' = σ(16)·1 + σ(16)·tanh(16).
    s = 1 / (1 + np.exp(-16.0))
    np.testing.assert_allclose(c[0], s + s * np.tanh(16.0), rtol=1e-14)
    np.testing.assert_allclose(y, expected.y, rtol=1e-14)


def test_errors_name_the_layout_and_array():
    cell = to_per_gate_right(random_cell(np.random.default_rng(5), input_size=3, hidden_size=5))
    cell["W_hf"] = np.zeros((5, 4))
    with pytest.raises(LayoutError, match=r"per-gate right-multiplied layout: W_hf has shape \(5, 4\), expected \(5, 5\)"):
        from_per_gate_right(cell)
    column = to_per_gate_column(random_cell(np.random.default_rng(6)))
    del column["b_hi"]
    with pytest.raises(LayoutError, match=r"missing \['b_hi'\]"):
        from_per_gate_column(column)
    with pytest.raises(LayoutError, match=r"vectorised layout: unknown arrays \[.b.\]; expected W, U, bias"):
        from_vectorised({"W": np.zeros((3, 8)), "U": np.zeros((2, 8)), "b": np.zeros(8)})
