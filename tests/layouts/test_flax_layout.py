"""Flax linen LSTMCell tree: names and shapes, round trips, and a forward pass in Flax terms."""
import numpy as np
import pytest
from layout_formulas import assert_forward_matches_reference, flax_forward, random_cell
from round_trips import assert_same_arrays, assert_weights_and_bias_sum_kept

from lstm_conformance.reference.layouts import LayoutError, from_flax, to_flax

DENSE = {"ii", "if", "ig", "io", "hi", "hf", "hg", "ho"}


def test_tree_has_eight_dense_layers_with_bias_on_the_hidden_side():
    cell = random_cell(np.random.default_rng(1), input_size=3, hidden_size=5)
    tree = to_flax(cell)
    assert set(tree) == DENSE
    for gate in "ifgo":
        assert set(tree["i" + gate]) == {"kernel"} and tree["i" + gate]["kernel"].shape == (3, 5)
        assert set(tree["h" + gate]) == {"kernel", "bias"} and tree["h" + gate]["kernel"].shape == (5, 5)
    # 'io' is the output gate: canonical rows 3H..4H, transposed to (in, out).
    np.testing.assert_array_equal(tree["io"]["kernel"], cell["weight_ih"][15:].T)
    np.testing.assert_array_equal(tree["hf"]["bias"], cell["bias_ih"][5:10] + cell["bias_hh"][5:10])


def test_canonical_to_flax_and_back_keeps_weights_and_the_bias_sum():
    cell = random_cell(np.random.default_rng(2))
    # Flax's one bias lives on the hidden-side Dense: it comes back as bias_hh.
    assert_weights_and_bias_sum_kept(from_flax(to_flax(cell)), cell, sum_in="bias_hh")


def test_canonical_with_zero_input_bias_round_trips_exactly():
    cell = random_cell(np.random.default_rng(3))
    cell["bias_ih"] = np.zeros_like(cell["bias_ih"])
    assert_same_arrays(from_flax(to_flax(cell)), cell)


def test_flax_to_canonical_and_back_is_exact():
    rng = np.random.default_rng(4)
    tree = {name: {"kernel": rng.normal(size=(3 if name[0] == "i" else 2, 2))} for name in DENSE}
    for name in ("hi", "hf", "hg", "ho"):
        tree[name]["bias"] = rng.normal(size=2)
    assert_same_arrays(to_flax(from_flax(tree)), tree)


def test_bias_free_cell_gets_zero_biases():
    tree = to_flax(random_cell(np.random.default_rng(5), bias=False))
    assert all(not tree["h" + g]["bias"].any() for g in "ifgo")


def test_forward_in_flax_terms_matches_the_reference():
    assert_forward_matches_reference(to_flax, flax_forward, seed=6)


def test_refusals():
    cell = random_cell(np.random.default_rng(7), peepholes=True)
    with pytest.raises(LayoutError, match="Flax LSTMCell has no place for peephole"):
        to_flax(cell)
    tree = to_flax(random_cell(np.random.default_rng(8)))
    with pytest.raises(LayoutError, match=r"params\['cell'\]"):
        from_flax({"cell": tree})
    tree["ii"]["bias"] = np.zeros(6)
    with pytest.raises(LayoutError, match="ii has .*expected only a kernel"):
        from_flax(tree)
