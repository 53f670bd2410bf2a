"""direction (SPEC.md §2): the reference's single reverse direction against torch, which has it
only as the reverse half of a bidirectional nn.LSTM, forward and backward (float64); the two
spellings of bidirectional; the config's consistency rules. Finite differences of the reverse
direction's backward run with the other variants (ref_problems.SPEC_ONLY_VARIANTS, reverse*)."""
import numpy as np
import pytest

from lstm_conformance.reference import lstm_backward, lstm_forward
from lstm_conformance.spec.model import LSTMConfig, parameter_shapes, state_shapes
from ref_torch import torch_lstm

CASES = {
    "plain": dict(options={}, lengths=None),
    "lengths": dict(options={}, lengths=[5, 1, 3, 2]),
    "batch_first_lengths": dict(options={"batch_first": True}, lengths=[2, 5, 4, 1]),
    "projection": dict(options={"proj_size": 2}, lengths=None),
    "unbatched": dict(options={"unbatched": True}, lengths=None),
}


def reverse_problem(options, lengths, seed):
    """A reverse-only problem and the bidirectional torch problem whose reverse half is it (the
    forward half has its own random parameters and states)."""
    rng = np.random.default_rng(seed)
    rev = LSTMConfig(3, 4, direction="reverse", **options)
    bidi = rev.with_options(direction="bidirectional")
    T, B = 5, (1 if rev.unbatched else 4)
    params_bidi = {k: rng.uniform(-0.7, 0.7, s) for k, s in parameter_shapes(bidi).items()}
    params_rev = {k[:-len("_reverse")]: v for k, v in params_bidi.items() if k.endswith("_reverse")}
    states = state_shapes(bidi, B)
    h0, c0 = rng.uniform(-1, 1, states["h0"]), rng.uniform(-1, 1, states["c0"])
    x = rng.uniform(-1, 1, (T, 3) if rev.unbatched else ((B, T, 3) if rev.batch_first else (T, B, 3)))
    lengths = None if lengths is None else np.array(lengths)
    return (dict(config=rev, x=x, params=params_rev, h0=h0[1:], c0=c0[1:], lengths=lengths),
            dict(config=bidi, x=x, params=params_bidi, h0=h0, c0=c0, lengths=lengths))


def call(fn, problem, **more):
    return fn(problem["config"], problem["x"], problem["params"], problem["h0"], problem["c0"], problem["lengths"],
              **more)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reverse_is_torch_bidirectionals_reverse_half(name):
    rev, bidi = reverse_problem(**CASES[name], seed=7)
    ours = call(lstm_forward, rev).as_dict()
    theirs = torch_lstm(bidi)
    S = rev["config"].output_size
    np.testing.assert_allclose(ours["y"], theirs["y"][..., S:], rtol=0, atol=1e-13)
    np.testing.assert_allclose(ours["h_n"], theirs["h_n"][1:], rtol=0, atol=1e-13)
    np.testing.assert_allclose(ours["c_n"], theirs["c_n"][1:], rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", sorted(CASES))
def test_reverse_gradients_match_torch_autograd(name):
    rev, bidi = reverse_problem(**CASES[name], seed=8)
    out = call(lstm_forward, rev).as_dict()
    rng = np.random.default_rng(9)
    up = {f"grad_{k}": rng.normal(size=out[k].shape) for k in ("y", "h_n", "c_n")}
    ours = call(lstm_backward, rev, **up)
    # the same loss on torch: upstream only on the reverse half, so the forward half adds nothing
    S, H = rev["config"].output_size, rev["config"].hidden_size
    gy = np.concatenate([np.zeros_like(up["grad_y"]), up["grad_y"]], axis=-1)
    grads = {"grad_y": gy, "grad_h_n": np.concatenate([np.zeros_like(up["grad_h_n"]), up["grad_h_n"]]),
             "grad_c_n": np.concatenate([np.zeros_like(up["grad_c_n"]), up["grad_c_n"]])}
    assert gy.shape[-1] == 2 * S and grads["grad_c_n"].shape[-1] == H
    theirs = torch_lstm(bidi, grads)["grads"]
    np.testing.assert_allclose(ours["x"], theirs["x"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["h0"], theirs["h0"][1:], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["c0"], theirs["c0"][1:], rtol=0, atol=1e-12)
    for name_ in rev["params"]:
        np.testing.assert_allclose(ours[name_], theirs[name_ + "_reverse"], rtol=0, atol=1e-12, err_msg=name_)


def test_reverse_differs_from_forward_and_ends_at_step_0():
    rev, _ = reverse_problem({}, None, seed=3)
    out = call(lstm_forward, rev).as_dict()
    fwd = dict(rev, config=rev["config"].with_options(direction="forward"))
    assert np.abs(out["y"] - call(lstm_forward, fwd).y).max() > 1e-2
    np.testing.assert_array_equal(out["h_n"][0], out["y"][0])  # the state after step 0


def test_direction_and_bidirectional_name_one_setting():
    assert LSTMConfig(3, 4, direction="bidirectional") == LSTMConfig(3, 4, bidirectional=True)
    both = LSTMConfig(3, 4, bidirectional=True)
    assert both.direction == "bidirectional" and both.num_directions == 2
    rev = LSTMConfig(3, 4, direction="reverse")
    assert rev.num_directions == 1 and not rev.bidirectional and rev.runs_reverse(0)
    assert "reverse" in rev.features() and "reverse" not in both.features()
    assert both.with_options(bidirectional=False).direction == "forward"
    assert rev.with_options(bidirectional=False).direction == "reverse"
    assert rev.with_options(bidirectional=True).direction == "bidirectional"
    assert both.with_options(direction="reverse").num_directions == 1
    with pytest.raises(ValueError, match="contradicts"):
        LSTMConfig(3, 4, bidirectional=True, direction="reverse")
    with pytest.raises(ValueError, match="direction must be"):
        LSTMConfig(3, 4, direction="backward")


def test_direction_activations_are_the_two_single_directions_side_by_side():
    """A bidirectional layer with per-direction activations is a forward layer with the first
    three and a reverse layer with the other three, concatenated (SPEC.md §2, §4)."""
    from lstm_conformance.spec.model import Activation as A
    fw, rv = (A("hard_sigmoid", 0.3, 0.4), A("elu", 0.5), A("affine", 0.8, 0.1)), \
        (A("sigmoid"), A("leaky_relu", 0.2), A("scaled_tanh", 1.5, 0.6))
    rng = np.random.default_rng(4)
    bidi = LSTMConfig(3, 4, bidirectional=True, peepholes=True, activations=fw, activations_reverse=rv)
    params = {k: rng.uniform(-1, 1, s) for k, s in parameter_shapes(bidi).items()}
    x, h0, c0 = rng.uniform(-1, 1, (6, 3, 3)), rng.uniform(-1, 1, (2, 3, 4)), rng.uniform(-1, 1, (2, 3, 4))
    lengths = np.array([6, 2, 4])
    both = lstm_forward(bidi, x, params, h0, c0, lengths).as_dict()
    halves = []
    for d, (direction, acts) in enumerate((("forward", fw), ("reverse", rv))):
        cfg = LSTMConfig(3, 4, direction=direction, peepholes=True, activations=acts)
        own = {k.replace("_reverse", ""): v for k, v in params.items() if k.endswith("_reverse") == bool(d)}
        halves.append(lstm_forward(cfg, x, own, h0[d:d + 1], c0[d:d + 1], lengths).as_dict())
    np.testing.assert_array_equal(both["y"], np.concatenate([h["y"] for h in halves], axis=-1))
    np.testing.assert_array_equal(both["c_n"], np.concatenate([h["c_n"] for h in halves]))
    shared = lstm_forward(bidi.with_options(activations_reverse=None), x, params, h0, c0, lengths)
    assert np.abs(shared.y - both["y"]).max() > 1e-2


def test_direction_activations_need_two_directions_and_equal_ones_are_no_option():
    from lstm_conformance.spec.model import STANDARD_ACTIVATIONS, Activation as A
    std = tuple(STANDARD_ACTIVATIONS[r] for r in ("gate", "cell", "hidden"))
    assert LSTMConfig(3, 4, bidirectional=True, activations_reverse=std).activations_reverse is None
    own = (A("relu"),) * 3
    cfg = LSTMConfig(3, 4, bidirectional=True, activations_reverse=own)
    assert "direction_activations" in cfg.features() and not cfg.standard_activations
    assert cfg.activation("cell", 1) == A("relu") and cfg.activation("cell", 0) == A("tanh")
    assert cfg.with_options(bidirectional=False).activations_reverse is None
    with pytest.raises(ValueError, match="two directions"):
        LSTMConfig(3, 4, direction="reverse", activations_reverse=own)
