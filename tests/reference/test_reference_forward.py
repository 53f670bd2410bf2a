"""The float64 reference forward: hand-set values, torch.nn.LSTM agreement, semantics of the
options torch lacks (checked on hand-computed one-unit cases), and error conditions."""
import zlib

import numpy as np
import pytest
import torch

from lstm_conformance.implementations.numpy_lstm import lstm_numpy
from lstm_conformance.reference import lstm_forward, rejects, validate_problem
from lstm_conformance.spec.model import Activation, LSTMConfig, input_shape, parameter_shapes, state_shapes
from ref_problems import ALL_VARIANTS, SPEC_ONLY_VARIANTS, TORCH_VARIANTS, make_problem
from ref_torch import torch_lstm


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ----------------------------------------------------------------------------- docs/TEXTBOOK.md §1: the memory toy

TOY_X = np.array([[1, 0, 0, 1], [3, 1, 0, 1], [2, 0, 0, 1], [4, 1, 0, 1], [2, 0, 0, 1], [1, 0, 1, 1],
                  [3, -1, 0, 1], [6, 1, 0, 1], [1, 0, 1, 1]], dtype=float)[:, None, :]
GATE_ROWS = {"i": [0, 100, 0, -10], "f": [0, 100, 0, 10], "g": [1, 0, 0, 0], "o": [0, 0, 100, -10]}
LINEAR = (Activation("sigmoid"), Activation("identity"), Activation("identity"))


def run_toy(row_order="ifgo", acts=None):
    config = LSTMConfig(4, 1, bias=False) if acts is None else LSTMConfig(4, 1, bias=False, activations=acts)
    params = {"weight_ih_l0": np.array([GATE_ROWS[k] for k in row_order], float), "weight_hh_l0": np.zeros((4, 1))}
    out = lstm_forward(config, TOY_X, params)
    cell_entering = np.concatenate([[0.0], out.c[:-1, 0, 0]])
    return out.y[:, 0, 0], cell_entering


def test_toy_linear_memory_values():
    y, c_entering = run_toy(acts=LINEAR)
    np.testing.assert_array_equal(np.round(c_entering), [0, 0, 3, 3, 7, 7, 7, 0, 6])
    np.testing.assert_array_equal(np.round(y), [0, 0, 0, 0, 0, 7, 0, 0, 6])


def test_toy_tanh_memory_values():
    y, _ = run_toy()
    np.testing.assert_array_equal(np.round(y), [0, 0, 0, 0, 0, 1, 0, 0, 1])
    assert y[5] == pytest.approx(0.9636, abs=5e-5)
    assert y[8] == pytest.approx(0.7616, abs=5e-5)
    # with saturated gates these are tanh(tanh(3) + tanh(4)) and tanh(tanh(6)) up to the ~1e-4 leak of σ(±10)
    assert y[5] == pytest.approx(np.tanh(np.tanh(3) + np.tanh(4)), abs=1e-3)


def test_toy_with_gate_rows_in_forget_first_order_differs_unrounded():
    y, _ = run_toy(row_order="figo")
    np.testing.assert_array_equal(np.round(y), [0, 0, 0, 0, 0, 1, 0, 0, 1])  # rounding hides the bug
    assert y[5] == pytest.approx(0.64, abs=0.005)
    assert abs(y[5] - 0.9636) > 0.3


# ----------------------------------------------------------------------------- torch.nn.LSTM, float64

@pytest.mark.parametrize("name", sorted(TORCH_VARIANTS))
def test_matches_torch_nn_lstm_float64(name):
    problem = make_problem(TORCH_VARIANTS[name], seed=zlib.crc32(name.encode()) % 1000)  # not hash(): salted per process
    ours = lstm_forward(problem["config"], problem["x"], problem["params"], problem["h0"], problem["c0"],
                        problem["lengths"]).as_dict()
    theirs = torch_lstm(problem)
    for key in ("y", "h_n", "c_n"):
        assert ours[key].shape == theirs[key].shape, key
        assert np.max(np.abs(ours[key] - theirs[key])) <= 1e-12, key
        assert np.max(np.abs(ours[key])) > 0.05, key  # a non-trivial comparison


def test_empty_batch_gives_empty_outputs_like_torch():
    problem = make_problem(TORCH_VARIANTS["layers_bidi_proj"], seed=3, sizes={"batch": 0})
    config = problem["config"]  # 2 layers, bidirectional, hidden 4, projection 3
    assert problem["x"].shape == (4, 0, 3)
    ours = lstm_forward(config, problem["x"], problem["params"]).as_dict()
    theirs = torch_lstm({**problem, "h0": None, "c0": None})  # torch 2.13 returns empty outputs too
    assert ours["y"].shape == theirs["y"].shape == (4, 0, 6)
    assert ours["h_n"].shape == theirs["h_n"].shape == (4, 0, 3)
    assert ours["c_n"].shape == theirs["c_n"].shape == (4, 0, 4)
    assert ours["c"].shape == (4, 0, 8)
    with_lengths = lstm_forward(config, problem["x"], problem["params"], lengths=np.zeros(0, int))
    assert with_lengths.y.shape == (4, 0, 6)


# ----------------------------------------------------------------------------- options torch lacks, by hand

def one_unit(**options):
    """One unit, one input feature x = 1, no bias: each gate's pre-activation is its weight."""
    return LSTMConfig(1, 1, bias=False, **options)


def weights(i, f, g, o):
    return {"weight_ih_l0": np.array([[i], [f], [g], [o]], float), "weight_hh_l0": np.zeros((4, 1))}


def test_cell_clip_bounds_every_activation_input_but_not_the_state():
    # a_i = 3, a_f = -2, a_g = 4, a_o = 0.2; c0 = 3; clip 0.5
    config = one_unit(cell_clip=0.5)
    out = lstm_forward(config, np.ones((1, 1, 1)), weights(3, -2, 4, 0.2), c0=np.full((1, 1, 1), 3.0))
    i, f, g, o = sigmoid(0.5), sigmoid(-0.5), np.tanh(0.5), sigmoid(0.2)
    c_new = f * 3.0 + i * g
    assert c_new > 0.5  # so that ψ's input is clipped
    assert out.c_n[0, 0, 0] == pytest.approx(c_new, rel=1e-15)  # the carried state is not clipped
    assert out.c[0, 0, 0] == pytest.approx(c_new, rel=1e-15)
    assert out.y[0, 0, 0] == pytest.approx(o * np.tanh(0.5), rel=1e-15)  # ψ sees clip(c')


def test_cell_clip_applies_after_peepholes_and_forget_bias():
    config = one_unit(cell_clip=1.0, peepholes=True, forget_bias=2.0)
    params = {**weights(0.5, 0.2, 0.3, 0.4), "peephole_l0": np.array([[0.6], [0.1], [0.9]])}
    c0 = np.full((1, 1, 1), 2.0)
    out = lstm_forward(config, np.ones((1, 1, 1)), params, c0=c0)
    i = sigmoid(min(0.5 + 0.6 * 2.0, 1.0))
    f = sigmoid(min(0.2 + 0.1 * 2.0 + 2.0, 1.0))
    c_new = f * 2.0 + i * np.tanh(0.3)
    o = sigmoid(min(0.4 + 0.9 * c_new, 1.0))
    assert out.c_n[0, 0, 0] == pytest.approx(c_new, rel=1e-15)
    assert out.y[0, 0, 0] == pytest.approx(o * np.tanh(min(c_new, 1.0)), rel=1e-15)


def test_peepholes_input_and_forget_see_old_cell_output_gate_sees_new():
    config = one_unit(peepholes=True)
    params = {**weights(0.1, -0.2, 0.7, 0.3), "peephole_l0": np.array([[0.5], [-0.4], [0.8]])}
    out = lstm_forward(config, np.ones((1, 1, 1)), params, c0=np.full((1, 1, 1), -1.5))
    i, f = sigmoid(0.1 + 0.5 * -1.5), sigmoid(-0.2 - 0.4 * -1.5)
    c_new = f * -1.5 + i * np.tanh(0.7)
    o = sigmoid(0.3 + 0.8 * c_new)
    assert out.y[0, 0, 0] == pytest.approx(o * np.tanh(c_new), rel=1e-15)


def test_input_forget_couples_forget_to_one_minus_input():
    config = one_unit(input_forget=True, forget_bias=5.0)  # forget weights and bias must not matter
    out = lstm_forward(config, np.ones((1, 1, 1)), weights(0.4, 9.0, -0.6, 0.2), c0=np.full((1, 1, 1), 0.8))
    i = sigmoid(0.4)
    c_new = (1 - i) * 0.8 + i * np.tanh(-0.6)
    assert out.c_n[0, 0, 0] == pytest.approx(c_new, rel=1e-15)
    assert out.y[0, 0, 0] == pytest.approx(sigmoid(0.2) * np.tanh(c_new), rel=1e-15)


def test_forget_bias_is_added_to_the_forget_gate_only():
    config = one_unit(forget_bias=1.5)
    out = lstm_forward(config, np.ones((1, 1, 1)), weights(0.4, -0.3, 0.6, 0.2), c0=np.full((1, 1, 1), 0.7))
    c_new = sigmoid(-0.3 + 1.5) * 0.7 + sigmoid(0.4) * np.tanh(0.6)
    assert out.c_n[0, 0, 0] == pytest.approx(c_new, rel=1e-15)
    assert out.y[0, 0, 0] == pytest.approx(sigmoid(0.2) * np.tanh(c_new), rel=1e-15)


def test_activations_per_role_with_alpha_and_beta():
    acts = (Activation("hard_sigmoid", 0.25, 0.4), Activation("scaled_tanh", 2.0, 0.5), Activation("leaky_relu", 0.1))
    out = lstm_forward(one_unit(activations=acts), np.ones((1, 1, 1)), weights(0.8, -0.4, 1.2, -3.0),
                       c0=np.full((1, 1, 1), -3.0))
    hs = lambda z: min(max(0.25 * z + 0.4, 0.0), 1.0)  # noqa: E731
    c_new = hs(-0.4) * -3.0 + hs(0.8) * 2.0 * np.tanh(0.5 * 1.2)
    assert c_new < 0  # ψ on its leaky side
    assert out.y[0, 0, 0] == pytest.approx(hs(-3.0) * 0.1 * c_new, rel=1e-15)


@pytest.mark.parametrize("name", ["lengths_bidi_layers_proj", "peepholes_bidi_layers_proj_lengths", "everything"])
def test_variable_lengths_equal_running_each_row_alone(name):
    """A row of length n gives the same outputs as that row's first n steps run alone, zeros after;
    in particular the reverse direction starts at the row's last valid step."""
    problem = make_problem(ALL_VARIANTS[name], seed=11)
    config, x, lengths = problem["config"], problem["x"], problem["lengths"]
    batch_axis = 0 if config.batch_first else 1
    full = lstm_forward(config, x, problem["params"], problem["h0"], problem["c0"], lengths)
    for b, n in enumerate(lengths):
        row = np.take(x, [b], axis=batch_axis)
        row = row[:, :n] if config.batch_first else row[:n]
        alone = lstm_forward(config, row, problem["params"], problem["h0"][:, [b]], problem["c0"][:, [b]])
        y_row = np.take(full.y, [b], axis=batch_axis)
        y_valid, y_pad = (y_row[:, :n], y_row[:, n:]) if config.batch_first else (y_row[:n], y_row[n:])
        np.testing.assert_allclose(y_valid, alone.y, rtol=0, atol=1e-15)
        assert np.all(y_pad == 0)
        np.testing.assert_allclose(full.h_n[:, b], alone.h_n[:, 0], rtol=0, atol=1e-15)
        np.testing.assert_allclose(full.c_n[:, b], alone.c_n[:, 0], rtol=0, atol=1e-15)


def test_layouts_are_transposes_of_each_other():
    base = make_problem(TORCH_VARIANTS["layers_bidi_proj"], seed=5)
    config = base["config"]
    ref = lstm_forward(config, base["x"], base["params"], base["h0"], base["c0"])
    bf = lstm_forward(config.with_options(batch_first=True), base["x"].transpose(1, 0, 2), base["params"],
                      base["h0"], base["c0"])
    np.testing.assert_array_equal(bf.y, ref.y.transpose(1, 0, 2))
    np.testing.assert_array_equal(bf.c, ref.c.transpose(1, 0, 2))
    np.testing.assert_array_equal(bf.h_n, ref.h_n)
    ub = lstm_forward(config.with_options(unbatched=True), base["x"][:, 1], base["params"], base["h0"][:, 1],
                      base["c0"][:, 1])
    np.testing.assert_allclose(ub.y, ref.y[:, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(ub.c_n, ref.c_n[:, 1], rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", sorted(SPEC_ONLY_VARIANTS))
def test_numpy_implementation_follows_the_settled_semantics(name):
    """implementations/numpy_lstm.py in float64 agrees with the reference on every option
    (cell clip of ψ's input, thresholded_relu at >=, ...)."""
    problem = make_problem(SPEC_ONLY_VARIANTS[name], seed=7)
    args = (problem["config"], problem["x"], problem["params"], problem["h0"], problem["c0"], problem["lengths"])
    ours, theirs = lstm_forward(*args).as_dict(), lstm_numpy(*args, dtype=np.float64)
    for key in ("y", "h_n", "c_n", "c"):
        np.testing.assert_allclose(theirs[key], ours[key], rtol=0, atol=1e-12, err_msg=key)


# ----------------------------------------------------------------------------- error conditions

def valid(config=None, T=3, B=2):
    config = config or LSTMConfig(3, 4, num_layers=2, proj_size=2)
    rng = np.random.default_rng(0)
    states = state_shapes(config, B)
    return dict(config=config, x=rng.normal(size=input_shape(config, T, B)),
                params={k: rng.normal(size=s) for k, s in parameter_shapes(config).items()},
                h0=np.zeros(states["h0"]), c0=np.zeros(states["c0"]), lengths=np.array([3, 1][:B]))


def replaced(**changes):
    args = valid()
    args.update(changes)
    return args


def params_with(name, value=None, drop=False):
    params = dict(valid()["params"])
    if drop:
        del params[name]
    else:
        params[name] = value
    return params


ERRORS = {
    "T=0": (replaced(x=np.zeros((0, 2, 3)), lengths=None), "sequence length T must be at least 1"),
    "x rank": (replaced(x=np.zeros((3, 3))), r"x must have 3 dimensions \(T, B, I\)"),
    "input size": (replaced(x=np.zeros((3, 2, 5))), r"x has shape \(3, 2, 5\), expected \(3, 2, 3\)"),
    "proj >= hidden": (replaced(config=LSTMConfig(3, 4, proj_size=4)),
                       "proj_size 4 must be smaller than hidden_size 4"),
    "hidden 0": (replaced(config=LSTMConfig(3, 0)), "hidden_size must be a positive integer"),
    "layers 0": (replaced(config=LSTMConfig(3, 4, num_layers=0)), "num_layers must be a positive integer"),
    "negative proj": (replaced(config=LSTMConfig(3, 4, proj_size=-1)), "proj_size must be a non-negative"),
    "clip 0": (replaced(config=LSTMConfig(3, 4, num_layers=2, proj_size=2, cell_clip=0.0)),
               "cell_clip must be a positive finite number"),
    "unknown activation": (replaced(config=LSTMConfig(3, 4, num_layers=2, proj_size=2, activations=(
        Activation("sigmoid"), Activation("swish"), Activation("tanh")))),
        "cell activation: unknown activation 'swish'"),
    "missing parameter": (replaced(params=params_with("weight_hr_l1", drop=True)), "missing parameter weight_hr_l1"),
    "parameter shape": (replaced(params=params_with("weight_hh_l0", np.zeros((16, 4)))),
                        r"parameter weight_hh_l0 has shape \(16, 4\), expected \(16, 2\)"),
    "unexpected parameter": (replaced(params=params_with("peephole_l0", np.zeros((3, 4)))),
                             r"unexpected parameters \['peephole_l0'\]"),
    "h0 shape": (replaced(h0=np.zeros((2, 2, 4))), r"h0 has shape \(2, 2, 4\), expected \(2, 2, 2\)"),
    "c0 shape": (replaced(c0=np.zeros((1, 2, 4))), r"c0 has shape \(1, 2, 4\), expected \(2, 2, 4\)"),
    "lengths shape": (replaced(lengths=np.array([3])), r"lengths has shape \(1,\), expected \(2,\)"),
    "length 0": (replaced(lengths=np.array([3, 0])), r"lengths must lie in 1..3 \(T\), got \[3, 0\]"),
    "length > T": (replaced(lengths=np.array([4, 1])), r"lengths must lie in 1..3 \(T\), got \[4, 1\]"),
    "fractional length": (replaced(lengths=np.array([2.5, 1.0])), "lengths must be whole numbers"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_invalid_problems_raise_clear_value_errors(case):
    args, message = ERRORS[case]
    with pytest.raises(ValueError, match=message):
        lstm_forward(**args)
    assert rejects(**args) is not None


def test_direction_parameters_knows_every_kind_of_parameter():
    """The forward pass picks each direction's parameters by kind (PARAMETER_KINDS): a kind the
    spec adds (parameter_shapes) and the reference misses would silently be left out."""
    from lstm_conformance.reference.forward import direction_parameters
    config = LSTMConfig(3, 4, num_layers=2, bidirectional=True, proj_size=2, peepholes=True, layer_norm=True)
    params = {name: np.zeros(shape) for name, shape in parameter_shapes(config).items()}
    picked = [(kind, layer, direction) for layer in range(2) for direction in range(2)
              for kind in direction_parameters(params, layer, direction)]
    assert len(picked) == len(params) == 28


def test_valid_problem_is_accepted():
    args = valid()
    validate_problem(**args)
    assert rejects(**args) is None
    assert lstm_forward(**args).y.shape == (3, 2, 2)


def test_torch_also_rejects_zero_length_sequences():
    # T = 0 is an error in PyTorch too ("Expected sequence length to be larger than 0")
    with pytest.raises(RuntimeError):
        torch.nn.LSTM(3, 4, dtype=torch.float64)(torch.zeros(0, 2, 3, dtype=torch.float64))
