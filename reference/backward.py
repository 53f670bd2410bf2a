"""The golden reference's backward pass: backpropagation through time in float64.

Given upstream gradients for any of the outputs y, h_n and c_n (None: zero), returns the
gradients of  L = Σ grad_y ⊙ y + Σ grad_h_n ⊙ h_n + Σ grad_c_n ⊙ c_n  with respect to x,
h0, c0 and every canonical parameter, for every option of the forward pass.

The forward pass is re-run keeping its Step records (forward.lstm_step, so the two cannot
drift apart), unless the caller hands over those of a forward pass it already ran; then each layer, last first, and each direction walks its steps backwards,
undoing the equations of forward.py one by one:

    h' = W_hr r,  r = o ⊙ s,  s = ψ(clip(c')),  o = σ(clip(a_o + p_o ⊙ c'))
    c' = f ⊙ c + i ⊙ g,  g = φ(clip(a_g)),  f = σ(clip(a_f + p_f ⊙ c + fb)) or 1 − i,
    i = σ(clip(a_i + p_i ⊙ c)),  a = W_ih x + W_hh h + b_ih + b_hh

Clipping passes the gradient where the bound leaves its input unchanged and stops it where
it clips. A row past its length carries its state through unchanged and outputs zero, so
there the incoming state gradient passes straight to the previous step; with padding: carry
its output is the previous step's, so y's gradient there passes to that step's output.
state_clip and proj_clip pass the gradient where they leave their input unchanged; with
layer_norm the gradient of a block's pre-activation goes through the normalisation (its
mean and variance over the units) to W_ih x + W_hh h + the peephole term, and to γ.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..spec.model import LAYER_NORM_EPSILON, LSTMConfig, parameter_shapes, state_shapes
from . import activations
from .forward import (ForwardResult, clip, clip_passes, direction_parameters, from_time_major, run_stack,
                      state_from_batched, state_to_batched, to_time_major, validate_problem)


def lstm_backward(config: LSTMConfig, x, params, h0=None, c0=None, lengths=None,
                  grad_y=None, grad_h_n=None, grad_c_n=None, detached: tuple = (),
                  forward: Optional[ForwardResult] = None) -> dict[str, np.ndarray]:
    """Gradients {"x", "h0", "c0", <canonical parameter names>} in the layouts of the inputs
    (h0 and c0 gradients are returned even when h0 / c0 were None, i.e. zeros). `detached`
    ("h", "c") models a defect for the diagnosis: that part of the state handed from one step
    to the next carries no gradient (truncated backpropagation). `forward`: what
    lstm_forward(..., keep_steps=True) returned for exactly these inputs (the caller's
    promise), so that its Step records serve here instead of running the forward pass again."""
    validate_problem(config, x, params, h0, c0, lengths)
    if forward is not None and forward.steps is None:
        raise ValueError("lstm_backward: the forward result given kept no steps (lstm_forward(..., keep_steps=True))")
    x_tm = to_time_major(config, x)
    T, B, _ = x_tm.shape
    H, P, D, L = config.hidden_size, config.output_size, config.num_directions, config.num_layers
    _check_upstream(config, "grad_y", grad_y, np.shape(from_time_major(config, np.zeros((T, B, D * P)))))
    _check_upstream(config, "grad_h_n", grad_h_n, state_shapes(config, B)["h0"])
    _check_upstream(config, "grad_c_n", grad_c_n, state_shapes(config, B)["c0"])

    if forward is None:
        _, _, _, _, steps = run_stack(config, x_tm, params, state_to_batched(config, h0),
                                      state_to_batched(config, c0), lengths, keep_steps=True)
    else:
        steps = forward.steps
    grad_y = np.zeros((T, B, D * P)) if grad_y is None else to_time_major(config, grad_y)
    grad_h_n = np.zeros((L * D, B, P)) if grad_h_n is None else state_to_batched(config, grad_h_n)
    grad_c_n = np.zeros((L * D, B, H)) if grad_c_n is None else state_to_batched(config, grad_c_n)

    grads = {name: np.zeros(shape) for name, shape in parameter_shapes(config).items()}
    grad_h0, grad_c0 = np.zeros((L * D, B, P)), np.zeros((L * D, B, H))
    grad_out = grad_y  # gradient w.r.t. the current layer's output sequence
    for layer in reversed(range(L)):
        grad_in = np.zeros((T,) + steps[layer][0][0].x.shape)  # w.r.t. this layer's input
        for direction in range(D):
            index = layer * D + direction
            # direction_parameters strips the suffix; on `grads` it gives views, accumulated in place
            dir_grad_in, grad_h0[index], grad_c0[index] = backward_direction(
                config, direction_parameters(params, layer, direction), direction_parameters(grads, layer, direction),
                steps[layer][direction], grad_out[:, :, direction * P:(direction + 1) * P],
                grad_h_n[index], grad_c_n[index], reverse=config.runs_reverse(direction), direction=direction,
                detached=detached)
            grad_in += dir_grad_in
        grad_out = grad_in

    result = {"x": from_time_major(config, grad_out),
              "h0": state_from_batched(config, grad_h0), "c0": state_from_batched(config, grad_c0)}
    result.update(grads)
    return result


def backward_direction(config: LSTMConfig, p: dict, grads: dict, steps: list, grad_y, grad_h, grad_c,
                       reverse: bool, direction: int = 0, detached: tuple = ()):
    """Backward through one layer and direction. `steps` are in the order the forward pass
    computed them; `grads` maps this direction's parameter names (no suffix) to arrays that are
    accumulated in place. grad_y is (T, B, P); grad_h / grad_c are the gradients w.r.t. the
    final state. Returns the gradient w.r.t. the layer's input (T, B, I) and w.r.t. h0, c0."""
    T = len(steps)
    H = config.hidden_size
    sigma, phi, psi = config.direction_activations(direction)

    def slope(act, z, value):  # d act(clip(z)) / dz; value = act(clip(z)), from the forward pass
        return activations.derivative(act, clip(config, z), value) * clip_passes(config, z)

    grad_x = np.zeros((T,) + steps[0].x.shape)
    dh, dc = grad_h.copy(), grad_c.copy()  # gradients w.r.t. the state leaving the current step
    times = range(T - 1, -1, -1) if reverse else range(T)
    dy_carried = np.zeros_like(dh)  # padding: carry: the gradient w.r.t. the previous step's output

    def ln_backward(k, da):  # a = n ⊙ γ_k + b_k, n = normalise(z): the gradient w.r.t. z
        n = step.ln_out[:, k * H:(k + 1) * H]
        z = step.ln_in[:, k * H:(k + 1) * H]
        grads["layer_norm"][k] += np.sum(da * n, axis=0)
        dn = da * p["layer_norm"][k]
        s = np.sqrt(np.var(z, axis=1, keepdims=True) + LAYER_NORM_EPSILON)
        return (dn - dn.mean(axis=1, keepdims=True) - n * np.mean(dn * n, axis=1, keepdims=True)) / s

    for t, step in reversed(list(zip(times, steps))):  # the steps, last computed first
        m = step.active.astype(np.float64)
        kept = 1.0 - m  # rows past their length
        # h_next = m ? h' : h, c_next = m ? c' : c, y_t = m ? h' : (0, or y of the previous step)
        dy_t = grad_y[t] + dy_carried
        if config.padding == "carry":
            dy_carried = kept * dy_t
        dh_new = m * (dh + dy_t)
        dc_new = m * dc
        dh_pass, dc_pass = kept * dh, kept * dc
        if config.proj_clip is not None:  # h' = clip(W_hr r)
            dh_new = dh_new * (np.abs(step.h_raw) <= config.proj_clip)

        # h' = W_hr r
        if config.proj_size:
            grads["weight_hr"] += dh_new.T @ step.r
            dr = dh_new @ p["weight_hr"]
        else:
            dr = dh_new
        # r = o ⊙ ψ(clip(c'))
        do = dr * step.psi
        dc_new = dc_new + dr * step.o * slope(psi, step.c_new, step.psi)
        # o = σ(clip(a_o + p_o ⊙ c'))
        da_o = do * slope(sigma, step.a_o, step.o)
        dz_o = ln_backward(3, da_o) if config.layer_norm else da_o  # w.r.t. a_o before layer norm
        o_sees_previous = config.peepholes and config.peephole_output_state == "previous"
        if config.peepholes and not o_sees_previous:  # a_o += p_o ⊙ c'
            grads["peephole"][2] += np.sum(dz_o * step.c_new, axis=0)
            dc_new = dc_new + dz_o * p["peephole"][2]
        if config.state_clip is not None:  # c' = clip(f ⊙ c + i ⊙ g)
            dc_new = dc_new * (np.abs(step.c_raw) <= config.state_clip)
        # c' = f ⊙ c + i ⊙ g
        df, di, dg = dc_new * step.c, dc_new * step.g, dc_new * step.i
        dc_prev = dc_new * step.f
        if config.input_forget:  # f = 1 − i: the forget block's pre-activation is unused
            di = di - df
            da_f = np.zeros_like(df)
        else:
            da_f = df * slope(sigma, step.a_f, step.f)
        da_i = di * slope(sigma, step.a_i, step.i)
        da_g = dg * slope(phi, step.a_g, step.g)
        # the gradient w.r.t. a: the biases' share (with layer_norm they are added after the
        # normalisation, so the rest of a sees the gradient through it)
        da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)
        if config.bias:
            grad_bias = da.sum(axis=0)
            grads["bias_ih"] += grad_bias
            grads["bias_hh"] += grad_bias
        if config.layer_norm:
            da_i, da_f, da_g = ln_backward(0, da_i), ln_backward(1, da_f), ln_backward(2, da_g)
            da_o = dz_o
            da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)
        if config.peepholes:
            grads["peephole"][0] += np.sum(da_i * step.c, axis=0)
            grads["peephole"][1] += np.sum(da_f * step.c, axis=0)
            dc_prev = dc_prev + da_i * p["peephole"][0] + da_f * p["peephole"][1]
        if o_sees_previous:  # a_o += p_o ⊙ c (the state entering the step)
            grads["peephole"][2] += np.sum(da_o * step.c, axis=0)
            dc_prev = dc_prev + da_o * p["peephole"][2]
        # a = W_ih x + W_hh h (+ b_ih + b_hh, or through the layer norm)
        assert da.shape[1] == 4 * H
        grads["weight_ih"] += da.T @ step.x
        grads["weight_hh"] += da.T @ step.h
        grad_x[t] = da @ p["weight_ih"]
        dh = da @ p["weight_hh"] + dh_pass
        dc = dc_prev + dc_pass
        if detached and step is not steps[0]:  # the state this step received was handed over detached
            dh, dc = (np.zeros_like(dh) if "h" in detached else dh), (np.zeros_like(dc) if "c" in detached else dc)
    return grad_x, dh, dc


def _check_upstream(config: LSTMConfig, name: str, value, expected: tuple) -> None:
    if value is not None and np.shape(value) != tuple(expected):
        raise ValueError(f"{name} has shape {np.shape(value)}, expected {tuple(expected)} (the shape of "
                         f"{name[5:]} for this configuration)")


def loss(config: LSTMConfig, outputs: dict, grad_y=None, grad_h_n=None, grad_c_n=None) -> float:
    """Σ grad ⊙ output over the given upstream gradients: the scalar lstm_backward differentiates."""
    total = 0.0
    for key, weight in (("y", grad_y), ("h_n", grad_h_n), ("c_n", grad_c_n)):
        if weight is not None:
            total += float(np.sum(np.asarray(weight) * outputs[key]))
    return total
