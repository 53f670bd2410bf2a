"""The reference's padding: carry (Keras masking), state_clip (TF1 cell_clip), proj_clip and
layer_norm (TFLite), SPEC.md §2 and §7: their defining properties, and forward and gradients
against a single-direction LSTM written here in torch (float64, autograd), whose layer norm is
torch.nn.functional.layer_norm (biased variance, eps 1e-8), its clips torch.clamp and its
carried padding torch.where. (Finite differences and the 50-digit reference run the variants
of ref_problems.py in test_reference_backward.py and test_reference_precision.py.)"""
import numpy as np
import pytest
import torch

from ref_problems import ALL_VARIANTS, Variant, _cfg, make_problem, upstream

from lstm_conformance.reference import lstm_backward, lstm_forward


def forward(problem, **changes):
    config = problem["config"].with_options(**changes) if changes else problem["config"]
    return lstm_forward(config, problem["x"], problem["params"], problem["h0"], problem["c0"],
                        problem["lengths"]).as_dict()


def test_carry_repeats_the_last_output_forward_and_is_zero_before_any_in_reverse():
    problem = make_problem(ALL_VARIANTS["padding_carry_bidi_layers_proj_batch_first"], seed=3)
    carry, zeros = forward(problem), forward(problem, padding="zeros")
    P, H = problem["config"].output_size, problem["config"].hidden_size
    for b, n in enumerate(problem["lengths"]):
        np.testing.assert_array_equal(carry["y"][b, :n], zeros["y"][b, :n])
        for t in range(n, carry["y"].shape[1]):
            np.testing.assert_array_equal(carry["y"][b, t, :P], carry["y"][b, n - 1, :P])
            np.testing.assert_array_equal(carry["c"][b, t, :H], carry["c"][b, n - 1, :H])
            assert not carry["y"][b, t, P:].any() and not carry["c"][b, t, H:].any()
    assert (carry["y"] != zeros["y"]).any()
    for key in ("h_n", "c_n"):  # the state is carried the same way
        np.testing.assert_array_equal(carry[key], zeros[key])


def test_state_clip_bounds_the_carried_state_and_proj_clip_the_output():
    problem = make_problem(ALL_VARIANTS["proj_clip_state_clip_layers"], seed=4)
    out, free = forward(problem), forward(problem, state_clip=None, proj_clip=None)
    assert np.abs(out["c"]).max() <= 0.6 and np.abs(out["c_n"]).max() <= 0.6
    assert np.abs(out["y"]).max() <= 0.2 and np.abs(out["h_n"]).max() <= 0.2
    assert np.abs(free["c"]).max() > 0.6 and np.abs(free["y"]).max() > 0.2  # both bind


def test_layer_norm_with_unit_coefficients_is_invariant_to_a_shift_of_a_gate_block():
    """normalise(z + s) = normalise(z): a constant added to one block's weights' output (here
    through a constant input feature) changes nothing; without layer norm it does."""
    problem = make_problem(Variant(_cfg(layer_norm=True, bias=False)), seed=5)
    problem["x"][..., 0] = 1.0
    shifted = {k: v.copy() for k, v in problem["params"].items()}
    shifted["weight_ih_l0"][:, 0] += 0.7  # every unit of every block gets +0.7
    moved = dict(problem, params=shifted)
    np.testing.assert_allclose(forward(moved)["y"], forward(problem)["y"], atol=1e-12)
    plain = {k: v for k, v in shifted.items() if not k.startswith("layer_norm")}
    assert np.abs(forward(dict(moved, params=plain), layer_norm=False)["y"]
                  - forward(dict(problem, params={k: v for k, v in problem["params"].items()
                                                   if not k.startswith("layer_norm")}), layer_norm=False)["y"]).max() > 1e-3


def torch_direction(problem):
    """One layer, one forward direction, in torch, written from SPEC.md §2 and §7. Returns the
    outputs and the leaves (for autograd)."""
    cfg = problem["config"]
    H = cfg.hidden_size
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in problem["params"].items()}
    x = torch.tensor(problem["x"], requires_grad=True)
    h0 = torch.tensor(problem["h0"], requires_grad=True)
    c0 = torch.tensor(problem["c0"], requires_grad=True)
    p = {k[:-3]: v for k, v in leaves.items()}  # "_l0" stripped
    T, B = x.shape[0], x.shape[1]
    lengths = torch.as_tensor(problem["lengths"] if problem["lengths"] is not None else [T] * B)
    h, c = h0[0], c0[0]
    last_y, last_c = torch.zeros_like(h), torch.zeros_like(c)
    ys, cs = [], []
    bias = p["bias_ih"] + p["bias_hh"] if cfg.bias else torch.zeros(4 * H, dtype=torch.float64)

    def gate(k, z):
        if cfg.layer_norm:
            z = torch.nn.functional.layer_norm(z, (H,), weight=p["layer_norm"][k], eps=1e-8)
        return z + bias[k * H:(k + 1) * H]

    for t in range(T):
        a = x[t] @ p["weight_ih"].T + h @ p["weight_hh"].T
        z = [a[:, k * H:(k + 1) * H] for k in range(4)]
        if cfg.peepholes:
            z[0], z[1] = z[0] + p["peephole"][0] * c, z[1] + p["peephole"][1] * c
        i, f, g = torch.sigmoid(gate(0, z[0])), torch.sigmoid(gate(1, z[1])), torch.tanh(gate(2, z[2]))
        c_new = f * c + i * g
        if cfg.state_clip is not None:
            c_new = torch.clamp(c_new, -cfg.state_clip, cfg.state_clip)
        zo = z[3] + p["peephole"][2] * c_new if cfg.peepholes else z[3]
        h_new = torch.sigmoid(gate(3, zo)) * torch.tanh(c_new)
        if cfg.proj_size:
            h_new = h_new @ p["weight_hr"].T
        if cfg.proj_clip is not None:
            h_new = torch.clamp(h_new, -cfg.proj_clip, cfg.proj_clip)
        active = (t < lengths)[:, None]
        h, c = torch.where(active, h_new, h), torch.where(active, c_new, c)
        fill_y, fill_c = (last_y, last_c) if cfg.padding == "carry" else (torch.zeros_like(h), torch.zeros_like(c))
        y_t, c_t = torch.where(active, h_new, fill_y), torch.where(active, c_new, fill_c)
        last_y, last_c = y_t, c_t
        ys.append(y_t)
        cs.append(c_t)
    outputs = {"y": torch.stack(ys), "h_n": h[None], "c_n": c[None], "c": torch.stack(cs)}
    return outputs, dict(leaves, x=x, h0=h0, c0=c0)


TORCH_EXPRESSIBLE = {
    "carry": Variant(_cfg(padding="carry"), seq_len=6, batch=4, lengths=[3, 6, 1, 4]),
    "state_clip_peepholes": Variant(_cfg(state_clip=0.4, peepholes=True), param_scale=1.2),
    "proj_clip": Variant(_cfg(proj_size=2, proj_clip=0.15), param_scale=1.2),
    "layer_norm": Variant(_cfg(layer_norm=True), param_scale=1.0),
    "layer_norm_no_bias_peepholes": Variant(_cfg(layer_norm=True, bias=False, peepholes=True), param_scale=1.0),
    "everything_carry": Variant(_cfg(layer_norm=True, state_clip=0.5, proj_size=2, proj_clip=0.3, peepholes=True,
                                     padding="carry"), seq_len=5, batch=4, lengths=[3, 5, 1, 4], param_scale=1.0),
}


@pytest.mark.parametrize("name", sorted(TORCH_EXPRESSIBLE))
def test_forward_and_gradients_match_a_torch_loop_float64(name):
    problem = make_problem(TORCH_EXPRESSIBLE[name], seed=71)
    ref = forward(problem)
    got, leaves = torch_direction(problem)
    for key in ("y", "h_n", "c_n", "c"):
        np.testing.assert_allclose(got[key].detach().numpy(), ref[key], rtol=1e-12, atol=1e-13, err_msg=key)
    grads = upstream(ref, seed=2)
    loss = sum((got[k] * torch.from_numpy(grads[f"grad_{k}"])).sum() for k in ("y", "h_n", "c_n"))
    loss.backward()
    cfg = problem["config"]
    ours = lstm_backward(cfg, problem["x"], problem["params"], problem["h0"], problem["c0"], problem["lengths"],
                         **grads)
    for key, leaf in leaves.items():
        np.testing.assert_allclose(ours[key], leaf.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=key)
