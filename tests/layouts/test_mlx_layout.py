"""MLX LSTM parameters Wx, Wh, bias: names and shapes, round trips, and a forward pass in MLX terms."""
import numpy as np
import pytest
from layout_formulas import assert_forward_matches_reference, random_cell, sigmoid
from round_trips import assert_weights_and_bias_sum_kept

from lstm_conformance.reference.layouts.cells import LayoutError
from lstm_conformance.reference.layouts.mlx import from_mlx, to_mlx


def mlx_forward(parameters: dict, x, h, c):
    """mlx.nn.LSTM.__call__: ifgo = bias + x @ Wx.T + h @ Wh.T, split i, f, g, o (time-major here)."""
    ys = []
    for x_t in x:
        ifgo = parameters.get("bias", 0.0) + x_t @ parameters["Wx"].T + h @ parameters["Wh"].T
        i, f, g, o = np.split(ifgo, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        ys.append(h)
    return np.stack(ys), h, c


def test_names_shapes_and_round_trip():
    cell = random_cell(np.random.default_rng(1), input_size=3, hidden_size=5)
    parameters = to_mlx(cell)
    assert {k: v.shape for k, v in parameters.items()} == {"Wx": (20, 3), "Wh": (20, 5), "bias": (20,)}
    assert_weights_and_bias_sum_kept(from_mlx(parameters), cell)
    assert set(to_mlx(random_cell(np.random.default_rng(2), bias=False))) == {"Wx", "Wh"}


def test_forward_in_mlx_terms_matches_the_reference():
    assert_forward_matches_reference(to_mlx, mlx_forward, seed=3)


def test_refusals_name_mlx_and_its_parameters():
    with pytest.raises(LayoutError, match="MLX LSTM.*peephole"):
        to_mlx(random_cell(np.random.default_rng(4), peepholes=True))
    parameters = to_mlx(random_cell(np.random.default_rng(5)))
    with pytest.raises(LayoutError, match="MLX LSTM: Wh has shape"):
        from_mlx({**parameters, "Wh": parameters["Wh"][:, :-1]})
    with pytest.raises(LayoutError, match="expected Wx, Wh"):
        from_mlx({"weight_ih": parameters["Wx"]})
