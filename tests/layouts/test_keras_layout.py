"""Keras LSTM layout: round trips, refusals, and a forward pass in Keras's own terms."""
import numpy as np
import pytest
from layout_formulas import assert_forward_matches_reference, keras_forward, random_cell
from round_trips import assert_same_arrays, assert_weights_and_bias_sum_kept

from lstm_conformance.reference.layouts import LayoutError, all_cells, from_keras, suffixed, to_keras
from lstm_conformance.spec.model import LSTMConfig, parameter_shapes


def test_shapes_and_blocks_are_the_transposed_canonical_blocks():
    cell = random_cell(np.random.default_rng(1), input_size=3, hidden_size=5)
    keras = to_keras(cell)
    assert keras["kernel"].shape == (3, 20) and keras["recurrent_kernel"].shape == (5, 20)
    # Keras's third block (its "c") is the canonical g block, rows 2H..3H of weight_ih.
    np.testing.assert_array_equal(keras["kernel"][:, 10:15], cell["weight_ih"][10:15].T)
    np.testing.assert_array_equal(keras["bias"], cell["bias_ih"] + cell["bias_hh"])


def test_canonical_to_keras_and_back_keeps_weights_and_the_bias_sum():
    cell = random_cell(np.random.default_rng(2))
    # Two biases become one: the sum survives, in bias_ih, and bias_hh is zeros.
    assert_weights_and_bias_sum_kept(from_keras(to_keras(cell)), cell, sum_in="bias_ih")


def test_canonical_with_zero_hidden_bias_round_trips_exactly():
    cell = random_cell(np.random.default_rng(3))
    cell["bias_hh"] = np.zeros_like(cell["bias_hh"])
    assert_same_arrays(from_keras(to_keras(cell)), cell)


def test_keras_to_canonical_and_back_is_exact():
    rng = np.random.default_rng(4)
    keras = {"kernel": rng.normal(size=(3, 8)), "recurrent_kernel": rng.normal(size=(2, 8)), "bias": rng.normal(size=8)}
    assert_same_arrays(to_keras(from_keras(keras)), keras)


def test_without_bias():
    cell = random_cell(np.random.default_rng(5), bias=False)
    keras = to_keras(cell)
    assert set(keras) == {"kernel", "recurrent_kernel"}
    assert set(from_keras(keras)) == {"weight_ih", "weight_hh"}


def test_forward_in_keras_terms_matches_the_reference():
    assert_forward_matches_reference(to_keras, keras_forward, seed=6)


def test_stacked_bidirectional_model_converts_cell_by_cell():
    rng = np.random.default_rng(7)
    config = LSTMConfig(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    params = {name: rng.normal(size=shape) for name, shape in parameter_shapes(config).items()}
    keras_cells = {key: to_keras(cell) for key, cell in all_cells(params, config).items()}
    assert keras_cells[(1, 0)]["kernel"].shape == (8, 16)  # layer 1 reads both directions: 2·H inputs
    rebuilt = {}
    for (layer, direction), weights in keras_cells.items():
        rebuilt.update(suffixed(from_keras(weights), layer, direction))
    assert set(rebuilt) == set(params)
    np.testing.assert_array_equal(rebuilt["weight_hh_l1_reverse"], params["weight_hh_l1_reverse"])


@pytest.mark.parametrize("extra, words", [("peephole", "peephole"), ("weight_hr", "projection")])
def test_refuses_what_keras_cannot_hold(extra, words):
    cell = random_cell(np.random.default_rng(8), peepholes=extra == "peephole")
    if extra == "weight_hr":
        cell["weight_hr"] = np.ones((2, 6))
        cell["weight_hh"] = np.ones((24, 2))
    with pytest.raises(LayoutError, match=f"Keras LSTM.*{words}"):
        to_keras(cell)


def test_bad_shapes_name_the_array():
    with pytest.raises(LayoutError, match=r"Keras LSTM: kernel has shape \(3, 12\), expected \(3, 8\)"):
        from_keras({"kernel": np.zeros((3, 12)), "recurrent_kernel": np.zeros((2, 8))})
    with pytest.raises(LayoutError, match="Keras LSTM: missing 'recurrent_kernel'"):
        from_keras({"kernel": np.zeros((3, 8))})
    with pytest.raises(LayoutError, match="bias has shape"):
        from_keras({"kernel": np.zeros((3, 8)), "recurrent_kernel": np.zeros((2, 8)), "bias": np.zeros(4)})


def test_a_cell_needs_both_biases_or_neither():
    cell = random_cell(np.random.default_rng(9))
    del cell["bias_hh"]
    with pytest.raises(LayoutError, match="give both bias_ih and bias_hh or neither"):
        to_keras(cell)
