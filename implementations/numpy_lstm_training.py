"""Gradients for the `numpy` implementation: backpropagation through time over the tapes its
general forward loop keeps (numpy_lstm_forward.run_layers), independent of the reference.

It covers everything the numpy forward computes: any spec activations, peepholes, cell clip,
state_clip, proj_clip, layer_norm, padding carry, coupled input-forget, forget_bias, layers, bidirectional, projection, lengths, batch_first,
unbatched and initial states. Arrays are feature-major, as in numpy_lstm_forward.py: a direction's
pre-activation gradients for all steps form one (4H, T·B) array, so the weight gradients are
one matrix product each, after the time loop.

At a kink the derivative of the branch the activation's formula selects is used, and a clamp
(the cell clip, hard_sigmoid) counts its bounds as inside: the spec's convention (SPEC.md).
"""
from __future__ import annotations

import numpy as np

from .numpy_lstm_forward import (LN_EPS, Cell, activation_parameters, caller_layout, check_inputs, feature_major_inputs,
                                 direction_activations, pack_weights, reverse_direction, run_layers, time_major)


# The slopes of σ and tanh from their values, as the textbooks write them: σ' = σ(1 − σ),
# tanh' = 1 − tanh². The backward pass reads the values from the forward's tape.
SLOPE_FROM_VALUE = {"sigmoid": lambda s: s * (1.0 - s), "tanh": lambda v: 1.0 - v ** 2}


def _logistic(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))  # cannot overflow


# Each activation's slope as a maker of d f(u) / du from its (alpha, beta): the table is built
# once, and a call makes only the one function it needs.
_DERIVATIVES = {
    "sigmoid": lambda a, b: lambda u: SLOPE_FROM_VALUE["sigmoid"](_logistic(u)),
    "tanh": lambda a, b: lambda u: SLOPE_FROM_VALUE["tanh"](np.tanh(u)),
    "identity": lambda a, b: lambda u: np.ones_like(u),
    "relu": lambda a, b: lambda u: (u >= 0).astype(u.dtype),
    "hard_sigmoid": lambda a, b: lambda u: np.where((a * u + b >= 0) & (a * u + b <= 1), a, 0.0).astype(u.dtype),
    "affine": lambda a, b: lambda u: np.full_like(u, a),
    "leaky_relu": lambda a, b: lambda u: np.where(u >= 0, 1.0, a).astype(u.dtype),
    "thresholded_relu": lambda a, b: lambda u: (u >= a).astype(u.dtype),
    "scaled_tanh": lambda a, b: lambda u: a * b * (1.0 - np.tanh(b * u) ** 2),
    "elu": lambda a, b: lambda u: np.where(u >= 0, 1.0, a * np.exp(np.minimum(u, 0.0))).astype(u.dtype),
    "softsign": lambda a, b: lambda u: 1.0 / (1.0 + np.abs(u)) ** 2,
    "softplus": lambda a, b: _logistic,
}


def derivative(name, alpha, beta):
    """d f(u) / du for the spec's activation `name`, as a function of u."""
    return _DERIVATIVES[name](*activation_parameters(name, alpha, beta))


class _Slopes:
    """d activation_k(clip(z)) / dz for one direction's activations and the clip."""

    def __init__(self, config, d=0, cell=None):
        self.cell = cell or Cell(config, d)
        activations = direction_activations(config, d)
        self.derivatives = [derivative(a.name, a.alpha, a.beta) for a in activations]
        self.from_value = [SLOPE_FROM_VALUE.get(a.name) for a in activations]

    def __call__(self, k, z, value):
        """Slope of activation k (0: σ, 1: φ, 2: ψ) at z, where `value` is the forward's
        activation k of clip(z): zero where the clip cuts z off."""
        from_value = self.from_value[k]
        # the forward computed σ(u) and tanh(u) as derivative() does, so these are the same numbers
        slope = from_value(value) if from_value else self.derivatives[k](self.cell.clip(z))
        clip = self.cell.clip_value
        return slope if clip is None else slope * (np.abs(z) <= clip)


def _norm_backward(dout, n, z, gamma):
    """Through out = n ⊙ γ, n = (z − μ)/√(σ² + ε) over the units (axis 0): (d z, d γ per unit)."""
    dn = dout * gamma
    s = np.sqrt(z.var(axis=0) + LN_EPS)
    dz = (dn - dn.mean(axis=0) - n * (dn * n).mean(axis=0)) / s
    return dz, (dout * n).sum(axis=1)


def _backward_direction(slope, weights, tape, dy, dh, dc, mask, steps, norm=None):
    """Backpropagation through one direction. `dy` (T, P, B): the loss gradient w.r.t. this
    direction's outputs; dh, dc: w.r.t. its final state. Returns the pre-activation gradients
    (4H, T·B), the gradients w.r.t. each step's (projected) output h (P, T·B), w.r.t. the
    peepholes (3, H) and w.r.t. the initial state. With layer_norm (`norm`) the returned
    pre-activation gradients are those before the normalisation (what W_ih and W_hh see), and
    the gradients of the bias (after it) and of γ come back in `extra`. Without peepholes or
    layer_norm their gradients are None."""
    T, H, B = tape["c_prev"].shape
    _, w_hh, _, w_hr, peep = weights
    dz_all = np.zeros((4 * H, T * B), dh.dtype)
    # the output gradients per step: only the projection's gradient needs them
    dh_all = None if w_hr is None else np.zeros((dh.shape[0], T * B), dh.dtype)
    dpeep = None if peep is None else np.zeros((3, H), dh.dtype)
    extra = None if norm is None else {"bias": np.zeros(4 * H, dh.dtype), "gamma": np.zeros((4, H), dh.dtype)}
    dy_last = np.zeros_like(dh)  # padding carry: the gradient reaching the last output through padded steps

    def through_norm(t, k, dz):  # block k of dz (w.r.t. the normalised pre-activation), in place
        rows = slice(k * H, (k + 1) * H)
        extra["bias"][rows] += dz[rows].sum(axis=1)
        dz[rows], dgamma = _norm_backward(dz[rows], tape["ln_out"][t][rows], tape["ln_in"][t][rows], norm[0][k])
        extra["gamma"][k] += dgamma

    cell = slope.cell
    z_all, gates_all, c_prev_all, c_new_all, psi_all = tape["z"], tape["gates"], tape["c_prev"], tape["c_new"], tape["psi"]
    # The activations' slopes depend only on the forward's tape, not on the gradients flowing
    # back: computed for every step at once, before the time loop. σ' of the i and f rows
    # (unused for f when f = 1 - i), of the o rows, φ' of the g rows and ψ' of the cell state.
    d_sigma_if = slope(0, z_all[:, :2 * H], gates_all[:, :2 * H])
    d_sigma_o = slope(0, z_all[:, 3 * H:], gates_all[:, 3 * H:])
    d_phi = slope(1, z_all[:, 2 * H:3 * H], gates_all[:, 2 * H:3 * H])
    d_psi = slope(2, c_new_all, psi_all)
    keep_all = None if mask is None else mask.astype(dh.dtype)  # 1 inside a sequence, 0 past its length
    o_sees_previous = peep is not None and cell.output_peephole_previous
    w_hh_t = w_hh.T
    for t in reversed(steps):
        cols = slice(t * B, (t + 1) * B)
        dy_t = dy[t] + dy_last
        if mask is None:
            dh_new, dc_new = dy_t + dh, dc
            dh_carry = dc_carry = 0.0
        else:
            keep = keep_all[t]
            if cell.carry:
                dy_last = (1 - keep) * dy_t
            dh_new, dc_new = keep * (dy_t + dh), keep * dc
            # a column past its length hands its state gradient straight to the previous step
            dh_carry, dc_carry = (1 - keep) * dh, (1 - keep) * dc
        if cell.proj_clip is not None:
            dh_new = dh_new * (np.abs(tape["h_raw"][:, cols]) <= cell.proj_clip)
        c_prev, c_new = c_prev_all[t], c_new_all[t]
        gates = gates_all[t]
        i, f, g, o = gates[:H], gates[H:2 * H], gates[2 * H:3 * H], gates[3 * H:]
        if w_hr is None:
            dr = dh_new
        else:
            dh_all[:, cols] = dh_new
            dr = w_hr.T @ dh_new
        dz = dz_all[:, cols]
        dz[3 * H:] = dr * psi_all[t] * d_sigma_o[t]
        if norm is not None:
            through_norm(t, 3, dz)
        dc_new = dc_new + dr * o * d_psi[t]
        if peep is not None and not o_sees_previous:
            dc_new += peep[2] * dz[3 * H:]
        if cell.state_clip is not None:
            dc_new = dc_new * (np.abs(tape["c_raw"][t]) <= cell.state_clip)
        d_i, d_f = dc_new * g, dc_new * c_prev
        if cell.input_forget:  # f = 1 - i: no gradient reaches the forget rows
            d_i, dz[H:2 * H] = d_i - d_f, 0.0
        else:
            dz[H:2 * H] = d_f * d_sigma_if[t, H:]
        dz[:H] = d_i * d_sigma_if[t, :H]
        dz[2 * H:3 * H] = dc_new * i * d_phi[t]
        if norm is not None:
            for k in range(3):
                through_norm(t, k, dz)
        dc_prev = dc_new * f
        if peep is not None:
            dc_prev += peep[0] * dz[:H] + peep[1] * dz[H:2 * H]
            if o_sees_previous:
                dc_prev += peep[2] * dz[3 * H:]
            dpeep += np.stack([(dz[:H] * c_prev).sum(1), (dz[H:2 * H] * c_prev).sum(1),
                               (dz[3 * H:] * (c_prev if o_sees_previous else c_new)).sum(1)])
        dh = w_hh_t @ dz + dh_carry
        dc = dc_prev + dc_carry
    return dz_all, dh_all, dpeep, dh, dc, extra


def lstm_numpy_gradients(config, x, params, h0=None, c0=None, lengths=None, upstream=None, dtype=np.float64):
    """Gradients of Σ upstream["y"]⊙y + Σ upstream["h_n"]⊙h_n + Σ upstream["c_n"]⊙c_n (absent
    or None terms left out) w.r.t. x, h0, c0 and every parameter, in canonical layouts."""
    check_inputs(config, x, params, h0, c0, lengths)
    upstream = upstream or {}
    H, P, D, L = config.hidden_size, config.output_size, config.num_directions, config.num_layers
    # the forward pass through the general loop, whose tapes the backward pass reads
    packed = pack_weights(config, params, dtype, fast=False)
    T, layer_in, h_n, c_n, mask = feature_major_inputs(config, x, h0, c0, lengths, dtype)
    B = h_n.shape[2]
    cells = [Cell(config, d) for d in range(D)]  # each direction's activations, for both passes
    _, _, inputs, tapes = run_layers(config, packed, T, layer_in, h_n, c_n, mask, fast=False, direction_cells=cells)

    def upstream_array(name, shape, state):
        given = upstream.get(name)
        return np.zeros(shape, dtype) if given is None else np.asarray(time_major(config, given, state), dtype)

    d_out = upstream_array("y", (T, B, D * P), False).transpose(0, 2, 1)  # (T, D·P, B)
    dh_n = upstream_array("h_n", (L * D, B, P), True)
    dc_n = upstream_array("c_n", (L * D, B, H), True)
    slopes, grads = [_Slopes(config, d, cells[d]) for d in range(D)], {}
    dh0, dc0 = np.zeros((L * D, B, P), dtype), np.zeros((L * D, B, H), dtype)
    for layer in reversed(range(L)):
        d_in = np.zeros_like(inputs[layer])
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            idx = layer * D + d
            tape, weights = tapes[idx], packed.layers[idx]
            steps = range(T - 1, -1, -1) if reverse_direction(config, d) else range(T)
            dy = d_out[:, d * P:(d + 1) * P]
            norm = packed.norms[idx] if packed.norms is not None else None
            dz, dh_all, dpeep, dh, dc, extra = _backward_direction(slopes[d], weights, tape, dy, dh_n[idx].T,
                                                                   dc_n[idx].T, mask, steps, norm)
            dh0[idx], dc0[idx] = dh.T, dc.T
            grads["weight_ih" + sfx] = dz @ inputs[layer].T
            grads["weight_hh" + sfx] = dz @ tape["h_prev"].T
            if config.layer_norm:
                grads["layer_norm" + sfx] = extra["gamma"]
            if config.bias:
                grads["bias_ih" + sfx] = extra["bias"] if config.layer_norm else dz.sum(axis=1)
                grads["bias_hh" + sfx] = grads["bias_ih" + sfx].copy()
            if config.proj_size:
                grads["weight_hr" + sfx] = dh_all @ tape["r"].T
            if config.peepholes:
                grads["peephole" + sfx] = dpeep
            d_in += weights[0].T @ dz
        # the gradient w.r.t. this layer's input is the one w.r.t. the layer below's output
        d_out = d_in.reshape(d_in.shape[0], T, B).transpose(1, 0, 2)
    grads["x"] = caller_layout(config, np.ascontiguousarray(d_out.transpose(0, 2, 1)))
    grads["h0"], grads["c0"] = caller_layout(config, dh0, True), caller_layout(config, dc0, True)
    return grads
