"""TFLite LSTM layout (reference/layouts/tflite.py): round trips, refusals, and a forward pass
in TFLite's own terms (its per-gate tensors, layer norm before the gate bias, cell_clip on the
state, proj_clip on the projection) equal to the reference with state_clip, proj_clip and
layer_norm (SPEC.md §2)."""
import numpy as np
import pytest
from round_trips import assert_weights_and_bias_sum_kept

from lstm_conformance.reference import lstm_forward
from lstm_conformance.reference.layouts import LayoutError, cell_params, from_tflite, suffixed, to_tflite
from lstm_conformance.spec.model import LSTMConfig, parameter_shapes


def random_params(config, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(-1, 1, s) for k, s in parameter_shapes(config).items()}


CONFIG = LSTMConfig(3, 5, proj_size=2, peepholes=True, layer_norm=True, state_clip=0.5, proj_clip=0.3)


def test_round_trip_keeps_every_array_and_the_bias_sum():
    cell = cell_params(random_params(CONFIG, 1))
    tflite = to_tflite(cell)
    assert tflite["cell_layer_norm_coefficients"].shape == (5,)
    np.testing.assert_array_equal(tflite["cell_layer_norm_coefficients"], cell["layer_norm"][2])  # row g
    np.testing.assert_array_equal(tflite["cell_to_output_weights"], cell["peephole"][2])
    assert_weights_and_bias_sum_kept(from_tflite(tflite), cell)  # weight_hr, peephole, layer_norm included


def test_cifg_and_projection_bias_are_refused():
    tflite = to_tflite(cell_params(random_params(CONFIG, 2)))
    with pytest.raises(LayoutError, match="CIFG"):
        from_tflite({k: v for k, v in tflite.items() if k not in ("input_to_input_weights", "recurrent_to_input_weights")})
    with pytest.raises(LayoutError, match="projection_bias"):
        from_tflite(dict(tflite, projection_bias=np.ones(2)))
    with pytest.raises(LayoutError, match="unknown"):
        from_tflite(dict(tflite, aux_input_to_input_weights=np.ones((5, 3))))


def tflite_forward(t, x, h, c, cell_clip, proj_clip):
    """TFLite's float LSTM step loop (lstm_eval.cc) over named tensors, batch-major, written
    from its source: gate = act(LN(W x + R h + peephole ⊙ c) ⊙ coeff + bias)."""
    def gate(name, act, state):
        z = x_t @ t[f"input_to_{name}_weights"].T + h @ t[f"recurrent_to_{name}_weights"].T
        if state is not None:
            z = z + t[f"cell_to_{name}_weights"] * state
        mean = z.mean(axis=1, keepdims=True)
        var = ((z - mean) ** 2).mean(axis=1, keepdims=True)
        z = (z - mean) / np.sqrt(var + 1e-8) * t[f"{name}_layer_norm_coefficients"] + t[f"{name}_gate_bias"]
        return act(z)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    ys = []
    for x_t in x:
        i, f = gate("input", sigmoid, c), gate("forget", sigmoid, c)
        g = gate("cell", np.tanh, None)
        c = np.clip(f * c + i * g, -cell_clip, cell_clip)
        o = gate("output", sigmoid, c)
        h = np.clip((o * np.tanh(c)) @ t["projection_weights"].T, -proj_clip, proj_clip)
        ys.append(h)
    return np.stack(ys), h, c


def test_a_tflite_forward_on_converted_tensors_equals_the_reference():
    params = random_params(CONFIG, 3)
    rng = np.random.default_rng(4)
    x, h0, c0 = rng.uniform(-1, 1, (6, 2, 3)), rng.uniform(-0.3, 0.3, (1, 2, 2)), rng.uniform(-1, 1, (1, 2, 5))
    ref = lstm_forward(CONFIG, x, params, h0, c0)
    y, h, c = tflite_forward(to_tflite(cell_params(params)), x, h0[0], c0[0], 0.5, 0.3)
    np.testing.assert_allclose(y, ref.y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c, ref.c_n[0], rtol=1e-12, atol=1e-14)
    # and back: the canonical cell from TFLite's tensors computes the same
    back = suffixed(from_tflite(to_tflite(cell_params(params))))
    np.testing.assert_allclose(lstm_forward(CONFIG, x, back, h0, c0).y, ref.y, rtol=1e-12, atol=1e-14)
