"""The reference BPTT backward: torch.autograd on every variant torch has, central finite
differences on every variant it lacks (and on the torch variants whose paths those do not
take), and each upstream gradient on its own."""
import functools

import numpy as np
import pytest

from lstm_conformance.reference import lstm_backward, lstm_forward
from lstm_conformance.reference.backward import loss
from lstm_conformance.reference.forward import (from_time_major, run_stack, state_from_batched,
                                                state_to_batched, to_time_major)
from lstm_conformance.spec.model import parameter_shapes
from ref_problems import ALL_VARIANTS, SPEC_ONLY_VARIANTS, TORCH_VARIANTS, Variant, make_problem, upstream
from ref_torch import torch_lstm

FD_STEP = 1e-5
FD_SIZES = {"input_size": 2, "hidden_size": 3, "seq_len": 3, "batch": 2}  # small: every element is perturbed


def forward_dict(problem):
    return lstm_forward(problem["config"], problem["x"], problem["params"], problem["h0"], problem["c0"],
                        problem["lengths"]).as_dict()


def finite_difference_gradients(problem, *ups):
    """Central differences of loss(forward(...)) w.r.t. every element of x, h0, c0, parameters,
    one dict per upstream in `ups`: each perturbed forward pass serves every upstream's loss."""
    config = problem["config"]
    forward_dict(problem)  # validates the inputs once: the perturbations below change values only

    def values():
        # lstm_forward's arithmetic (run_stack) without its validation, on the time-major layout
        y, _, h_n, c_n, _ = run_stack(config, to_time_major(config, problem["x"]), problem["params"],
                                      state_to_batched(config, problem["h0"]), state_to_batched(config, problem["c0"]),
                                      problem["lengths"])
        outputs = {"y": from_time_major(config, y), "h_n": state_from_batched(config, h_n),
                   "c_n": state_from_batched(config, c_n)}
        return np.array([loss(config, outputs, **up) for up in ups])

    targets = {"x": problem["x"], "h0": problem["h0"], "c0": problem["c0"], **problem["params"]}
    grads = [{} for _ in ups]
    for name, array in targets.items():
        grad = np.zeros((len(ups),) + array.shape)
        for index in np.ndindex(array.shape):
            kept = array[index]
            array[index] = kept + FD_STEP
            plus = values()
            array[index] = kept - FD_STEP
            minus = values()
            array[index] = kept
            grad[(slice(None),) + index] = (plus - minus) / (2 * FD_STEP)
        for k in range(len(ups)):
            grads[k][name] = grad[k]
    return grads if len(ups) > 1 else grads[0]


def relative_error(got, expected):
    """max |got − expected| over the array, relative to the array's largest expected magnitude."""
    scale = np.max(np.abs(expected)) if expected.size else 0.0
    return np.max(np.abs(got - expected)) / scale if scale > 0 else np.max(np.abs(got), initial=0.0)


def assert_gradients_match(analytic, numeric, tolerance, context):
    assert set(numeric) <= set(analytic), context
    for name, expected in numeric.items():
        assert analytic[name].shape == expected.shape, (context, name)
        err = relative_error(analytic[name], expected)
        assert err <= tolerance, f"{context}: gradient of {name} off by {err:.2e} (relative)"


def with_state(variant: Variant) -> Variant:
    """Finite differences need h0 / c0 arrays to perturb (zeros when the variant has none)."""
    return Variant(**{**variant.__dict__, "initial_state": True})


# The variants torch runs are checked element by element against torch's autograd to 1e-10
# (test_gradients_match_torch_autograd_float64, at larger sizes), and their forward passes
# against torch's (test_reference_forward.py); finite differences check what torch lacks.
ALONE = ("grad_y", "grad_h_n", "grad_c_n")
ALONE_VARIANT = "peepholes_bidi_layers_proj_lengths"  # test_each_upstream_gradient_alone's


@functools.lru_cache(maxsize=None)
def finite_difference_sweep(name):
    """(problem, {label: upstream}, {label: numeric gradients}) of a variant: upstream on every
    output ("all"), and for ALONE_VARIANT also on each output alone, from the same sweep (each
    perturbed forward pass gives every upstream's loss). The problem's arrays are restored
    after each perturbation; the tests only read them."""
    problem = make_problem(with_state(ALL_VARIANTS[name]), seed=21, sizes=FD_SIZES)
    up = upstream(forward_dict(problem), seed=22)
    ups = {"all": up, **({which: {which: up[which]} for which in ALONE} if name == ALONE_VARIANT else {})}
    numeric = finite_difference_gradients(problem, *ups.values())
    return problem, ups, dict(zip(ups, numeric if len(ups) > 1 else [numeric]))


# Finite differences also on the torch variants whose code paths no spec-only variant takes (no
# bias; the unbatched layout): the reference answers to the mathematics, not only to torch.
FD_TORCH_VARIANTS = ("no_bias", "unbatched_bidi_proj_layers")


@pytest.mark.parametrize("name", sorted(SPEC_ONLY_VARIANTS) + list(FD_TORCH_VARIANTS))
def test_gradients_match_central_finite_differences(name):
    problem, ups, numeric = finite_difference_sweep(name)
    analytic = lstm_backward(problem["config"], problem["x"], problem["params"], problem["h0"], problem["c0"],
                             problem["lengths"], **ups["all"])
    assert_gradients_match(analytic, numeric["all"], 1e-6, name)
    assert set(analytic) == {"x", "h0", "c0"} | set(parameter_shapes(problem["config"]))
    assert np.max(np.abs(analytic["x"])) > 1e-3  # the check is not trivially 0 == 0


@pytest.mark.parametrize("name", sorted(TORCH_VARIANTS))
def test_gradients_match_torch_autograd_float64(name):
    problem = make_problem(TORCH_VARIANTS[name], seed=31)
    up = upstream(forward_dict(problem), seed=32)
    ours = lstm_backward(problem["config"], problem["x"], problem["params"], problem["h0"], problem["c0"],
                         problem["lengths"], **up)
    theirs = torch_lstm(problem, up)["grads"]
    assert set(theirs) - {"h0", "c0"} == set(ours) - {"h0", "c0"}
    for key, expected in theirs.items():
        assert ours[key].shape == expected.shape, key
        assert np.max(np.abs(ours[key] - expected)) <= 1e-10, key


def test_each_upstream_gradient_alone():
    """Upstream on one output only (the others None) gives nonzero gradients that match finite
    differences: a backward that ignored, say, grad_c_n would return zeros here and fail.
    (The finite differences come from the sweep of this variant's test above.)"""
    problem, ups, numeric = finite_difference_sweep(ALONE_VARIANT)
    for which in ALONE:
        up = ups[which]
        assert list(up) == [which]
        analytic = lstm_backward(problem["config"], problem["x"], problem["params"], problem["h0"], problem["c0"],
                                 problem["lengths"], **up)
        assert_gradients_match(analytic, numeric[which], 1e-6, which)
        for key in ("x", "h0", "c0", "weight_ih_l0", "weight_hh_l0"):
            assert np.max(np.abs(analytic[key])) > 1e-4, (which, key)


def test_upstream_gradients_add_up():
    """The backward is linear in the upstream gradients, and None means zero."""
    problem = make_problem(ALL_VARIANTS["everything"], seed=51)
    args = (problem["config"], problem["x"], problem["params"], problem["h0"], problem["c0"], problem["lengths"])
    up = upstream(forward_dict(problem), seed=52)
    together = lstm_backward(*args, **up)
    parts = [lstm_backward(*args, **{key: value}) for key, value in up.items()]
    zeros = lstm_backward(*args, grad_y=np.zeros_like(up["grad_y"]))
    for name, value in together.items():
        np.testing.assert_allclose(sum(part[name] for part in parts), value, rtol=0, atol=1e-12, err_msg=name)
        assert np.all(zeros[name] == 0), name


@pytest.mark.parametrize("name", ["everything", "tf_everything_carry"])
def test_a_kept_forward_pass_gives_the_same_gradients(name):
    """lstm_backward(forward=lstm_forward(..., keep_steps=True)) reuses that pass's steps: the
    same arrays, bit for bit, as running the forward pass again; without steps it refuses."""
    problem = make_problem(ALL_VARIANTS[name], seed=61)
    args = (problem["config"], problem["x"], problem["params"], problem["h0"], problem["c0"], problem["lengths"])
    up = upstream(forward_dict(problem), seed=62)
    kept = lstm_forward(*args, keep_steps=True)
    assert all(np.array_equal(kept.as_dict()[k], v) for k, v in forward_dict(problem).items())
    reused, fresh = lstm_backward(*args, **up, forward=kept), lstm_backward(*args, **up)
    assert reused.keys() == fresh.keys()
    for key, value in fresh.items():
        assert np.array_equal(reused[key], value), key
    with pytest.raises(ValueError, match="kept no steps"):
        lstm_backward(*args, **up, forward=lstm_forward(*args))


def test_clipped_pre_activations_pass_no_gradient():
    """A one-unit step with every activation input clipped: only c0's direct path f ⊙ c0
    carries gradient, so the gates' weights get exactly zero."""
    from lstm_conformance.spec.model import LSTMConfig
    config = LSTMConfig(1, 1, bias=False, cell_clip=0.5)
    params = {"weight_ih_l0": np.array([[3.0], [-2.0], [4.0], [5.0]]), "weight_hh_l0": np.zeros((4, 1))}
    c0 = np.full((1, 1, 1), 3.0)
    grads = lstm_backward(config, np.ones((1, 1, 1)), params, c0=c0, grad_c_n=np.ones((1, 1, 1)),
                          grad_y=np.ones((1, 1, 1)))
    assert np.all(grads["weight_ih_l0"] == 0)
    assert grads["c0"][0, 0, 0] == pytest.approx(1.0 / (1.0 + np.exp(0.5)), rel=1e-15)  # σ(−0.5)


def test_the_cases_exercise_clipping_on_both_sides():
    """The clip variants used above really clip some activation inputs and leave others."""
    for name in ("cell_clip", "cell_clip_peepholes_bidi", "everything"):
        problem = make_problem(with_state(ALL_VARIANTS[name]), seed=21, sizes=FD_SIZES)
        config = problem["config"]
        *_, steps = run_stack(config, to_time_major(config, problem["x"]), problem["params"],
                              state_to_batched(config, problem["h0"]), state_to_batched(config, problem["c0"]),
                              problem["lengths"], keep_steps=True)
        values = np.concatenate([np.ravel(getattr(s, key)) for layer in steps for d in layer for s in d
                                 for key in ("a_i", "a_g", "a_o", "c_new")])
        clipped = np.abs(values) > config.cell_clip
        assert 0.1 < clipped.mean() < 0.9, name


def test_wrong_upstream_shape_is_rejected():
    problem = make_problem(TORCH_VARIANTS["single"], seed=1)
    with pytest.raises(ValueError, match=r"grad_c_n has shape \(2, 3, 4\), expected \(1, 3, 4\)"):
        lstm_backward(problem["config"], problem["x"], problem["params"], grad_c_n=np.zeros((2, 3, 4)))


def test_empty_batch_gives_empty_input_gradients_and_zero_parameter_gradients():
    problem = make_problem(TORCH_VARIANTS["layers_bidi_proj"], seed=2, sizes={"batch": 0})
    grads = lstm_backward(problem["config"], problem["x"], problem["params"], grad_y=np.zeros((4, 0, 6)))
    assert grads["x"].shape == (4, 0, 3) and grads["h0"].shape == (4, 0, 3) and grads["c0"].shape == (4, 0, 4)
    for name, shape in parameter_shapes(problem["config"]).items():
        assert grads[name].shape == shape and np.all(grads[name] == 0), name
