"""Gradients for the `numpy` implementation: a forward pass that keeps what the backward pass
needs, and backpropagation through time (independent of the reference).

It covers everything the numpy forward computes: any spec activations, peepholes, cell clip,
coupled input-forget, forget_bias, layers, bidirectional, projection, lengths, batch_first,
unbatched and initial states. Arrays are feature-major, as in numpy_lstm.py: a direction's
pre-activation gradients for all steps form one (4H, T·B) array, so the weight gradients are
one matrix product each, after the time loop.

At a kink the derivative of the branch the activation's formula selects is used, and a clamp
(the cell clip, hard_sigmoid) counts its bounds as inside: the spec's convention (SPEC.md).
"""
from __future__ import annotations

import numpy as np

from .numpy_lstm import activation, activation_parameters, check_inputs, direction_weights


def derivative(name, alpha, beta):
    """d f(u) / du for the spec's activation `name`, as a function of u."""
    a, b = activation_parameters(name, alpha, beta)

    def sigmoid(u):
        return 0.5 * (1.0 + np.tanh(0.5 * u))  # cannot overflow

    table = {
        "sigmoid": lambda u: sigmoid(u) * (1.0 - sigmoid(u)),
        "tanh": lambda u: 1.0 - np.tanh(u) ** 2,
        "identity": lambda u: np.ones_like(u),
        "relu": lambda u: (u >= 0).astype(u.dtype),
        "hard_sigmoid": lambda u: np.where((a * u + b >= 0) & (a * u + b <= 1), a, 0.0).astype(u.dtype),
        "affine": lambda u: np.full_like(u, a),
        "leaky_relu": lambda u: np.where(u >= 0, 1.0, a).astype(u.dtype),
        "thresholded_relu": lambda u: (u >= a).astype(u.dtype),
        "scaled_tanh": lambda u: a * b * (1.0 - np.tanh(b * u) ** 2),
        "elu": lambda u: np.where(u >= 0, 1.0, a * np.exp(np.minimum(u, 0.0))).astype(u.dtype),
        "softsign": lambda u: 1.0 / (1.0 + np.abs(u)) ** 2,
        "softplus": sigmoid,
    }
    return table[name]


class _Cell:
    """The cell's activations, their slopes and the clip, for one configuration."""

    def __init__(self, config):
        self.clip_value = config.cell_clip
        self.input_forget = config.input_forget
        self.f = [activation(a.name, a.alpha, a.beta) for a in config.activations]
        self.df = [derivative(a.name, a.alpha, a.beta) for a in config.activations]

    def clip(self, z):
        return z if self.clip_value is None else np.clip(z, -self.clip_value, self.clip_value)

    def apply(self, k, z):
        """Activation k (0: σ, 1: φ, 2: ψ) of clip(z)."""
        return self.f[k](self.clip(z), np.empty_like(z))

    def slope(self, k, z):
        """d activation_k(clip(z)) / dz: zero where the clip cuts z off."""
        slope = self.df[k](self.clip(z))
        return slope if self.clip_value is None else slope * (np.abs(z) <= self.clip_value)


def _forward_direction(cell, p, layer_in, h, c, mask, steps, outs):
    """One direction over the sequence, keeping per step the pre-activations, the gate values,
    the state it started from, the new cell state, ψ of it and the unprojected output. Gates in
    (i, f, g, o) order."""
    H, B = c.shape
    T = len(steps)
    out_y, out_c = outs
    xw = p["weight_ih"] @ layer_in + p["bias"][:, None]
    peep = p.get("peephole")
    tape = {"z": np.empty((T, 4 * H, B), c.dtype), "gates": np.empty((T, 4 * H, B), c.dtype),
            "h_prev": np.empty((h.shape[0], T * B), c.dtype), "c_prev": np.empty((T, H, B), c.dtype),
            "c_new": np.empty((T, H, B), c.dtype), "psi": np.empty((T, H, B), c.dtype),
            "r": np.empty((H, T * B), c.dtype)}
    for t in steps:
        cols = slice(t * B, (t + 1) * B)
        tape["h_prev"][:, cols], tape["c_prev"][t] = h, c
        z, gates = tape["z"][t], tape["gates"][t]
        z[:] = p["weight_hh"] @ h + xw[:, cols]
        if peep is not None:
            z[:H] += peep[0][:, None] * c
            z[H:2 * H] += peep[1][:, None] * c
        gates[:H] = cell.apply(0, z[:H])
        gates[H:2 * H] = 1.0 - gates[:H] if cell.input_forget else cell.apply(0, z[H:2 * H])
        gates[2 * H:3 * H] = cell.apply(1, z[2 * H:3 * H])
        i, f, g = gates[:H], gates[H:2 * H], gates[2 * H:3 * H]
        c_new = tape["c_new"][t] = f * c + i * g
        if peep is not None:
            z[3 * H:] += peep[2][:, None] * c_new
        o = gates[3 * H:] = cell.apply(0, z[3 * H:])
        tape["psi"][t] = cell.apply(2, c_new)
        r = tape["r"][:, cols] = o * tape["psi"][t]
        h_new = p["weight_hr"] @ r if "weight_hr" in p else r
        if mask is None:
            h, c = h_new, c_new
        else:  # columns past their length carry their state and output zeros
            h, c = np.where(mask[t], h_new, h), np.where(mask[t], c_new, c)
            h_new, c_new = h_new * mask[t], c_new * mask[t]
        out_y[t], out_c[t] = h_new, c_new
    return tape


def _backward_direction(cell, p, tape, dy, dh, dc, mask, steps):
    """Backpropagation through one direction. `dy` (T, P, B): the loss gradient w.r.t. this
    direction's outputs; dh, dc: w.r.t. its final state. Returns the pre-activation gradients
    (4H, T·B), the gradients w.r.t. each step's (projected) output h (P, T·B), w.r.t. the
    peepholes (3, H) and w.r.t. the initial state."""
    T, H, B = tape["c_prev"].shape
    peep = p.get("peephole")
    dz_all = np.zeros((4 * H, T * B), dh.dtype)
    dh_all = np.zeros((dh.shape[0], T * B), dh.dtype)
    dpeep = np.zeros((3, H), dh.dtype)
    for t in reversed(steps):
        cols = slice(t * B, (t + 1) * B)
        keep = 1.0 if mask is None else mask[t]
        dh_new, dc_new = keep * (dy[t] + dh), keep * dc
        # a column past its length hands its state gradient straight to the previous step
        dh_carry, dc_carry = (0.0, 0.0) if mask is None else ((1 - keep) * dh, (1 - keep) * dc)
        z, gates, c_prev, c_new = tape["z"][t], tape["gates"][t], tape["c_prev"][t], tape["c_new"][t]
        i, f, g, o = gates[:H], gates[H:2 * H], gates[2 * H:3 * H], gates[3 * H:]
        dh_all[:, cols] = dh_new
        dr = p["weight_hr"].T @ dh_new if "weight_hr" in p else dh_new
        dz = dz_all[:, cols]
        dz[3 * H:] = dr * tape["psi"][t] * cell.slope(0, z[3 * H:])
        dc_new = dc_new + dr * o * cell.slope(2, c_new)
        if peep is not None:
            dc_new += peep[2][:, None] * dz[3 * H:]
        d_i, d_f = dc_new * g, dc_new * c_prev
        if cell.input_forget:  # f = 1 - i: no gradient reaches the forget rows
            d_i, dz[H:2 * H] = d_i - d_f, 0.0
        else:
            dz[H:2 * H] = d_f * cell.slope(0, z[H:2 * H])
        dz[:H] = d_i * cell.slope(0, z[:H])
        dz[2 * H:3 * H] = dc_new * i * cell.slope(1, z[2 * H:3 * H])
        dc_prev = dc_new * f
        if peep is not None:
            dc_prev += peep[0][:, None] * dz[:H] + peep[1][:, None] * dz[H:2 * H]
            dpeep += np.stack([(dz[:H] * c_prev).sum(1), (dz[H:2 * H] * c_prev).sum(1),
                               (dz[3 * H:] * c_new).sum(1)])
        dh = p["weight_hh"].T @ dz + dh_carry
        dc = dc_prev + dc_carry
    return dz_all, dh_all, dpeep, dh, dc


def _batched(config, array, state=False):
    """An input or upstream array in time-major batched layout (T, B, F) or (L·D, B, F)."""
    if array is None:
        return None
    if config.unbatched:
        return array[:, None, :]
    return np.swapaxes(array, 0, 1) if (config.batch_first and not state) else array


def _unbatched(config, array, state=False):
    if config.unbatched:
        return array[:, 0]
    return np.swapaxes(array, 0, 1) if (config.batch_first and not state) else array


def lstm_numpy_gradients(config, x, params, h0=None, c0=None, lengths=None, upstream=None, dtype=np.float64):
    """Gradients of Σ upstream["y"]⊙y + Σ upstream["h_n"]⊙h_n + Σ upstream["c_n"]⊙c_n (absent
    or None terms left out) w.r.t. x, h0, c0 and every parameter, in canonical layouts."""
    check_inputs(config, x, params, h0, c0, lengths)
    upstream = upstream or {}
    xb = np.asarray(_batched(config, x), dtype)
    T, B, _ = xb.shape
    H, P, D, L = config.hidden_size, config.output_size, config.num_directions, config.num_layers
    h0b = np.zeros((L * D, B, P), dtype) if h0 is None else np.asarray(_batched(config, h0, True), dtype)
    c0b = np.zeros((L * D, B, H), dtype) if c0 is None else np.asarray(_batched(config, c0, True), dtype)
    mask = None if lengths is None else (np.arange(T)[:, None] < np.asarray(lengths)[None, :])[:, None, :].astype(dtype)
    step_orders = [range(T), range(T - 1, -1, -1)]
    cell = _Cell(config)

    # forward, keeping each layer's input (features, T·B) and each direction's tape
    layer_in, inputs, tapes = np.ascontiguousarray(xb.reshape(T * B, xb.shape[-1]).T), [], []
    for layer in range(L):
        layer_out = np.empty((T, D * P, B), dtype)
        cells = np.empty((T, D * H, B), dtype)
        for d in range(D):
            p = direction_weights(config, params, layer, d, dtype)
            idx = layer * D + d
            outs = (layer_out[:, d * P:(d + 1) * P], cells[:, d * H:(d + 1) * H])
            tape = _forward_direction(cell, p, layer_in, h0b[idx].T, c0b[idx].T, mask, step_orders[d], outs)
            tapes.append(tape)
        inputs.append(layer_in)
        layer_in = np.ascontiguousarray(layer_out.transpose(1, 0, 2)).reshape(D * P, T * B)

    def upstream_array(name, shape, state):
        given = upstream.get(name)
        return np.zeros(shape, dtype) if given is None else np.asarray(_batched(config, given, state), dtype)

    d_out = upstream_array("y", (T, B, D * P), False).transpose(0, 2, 1)  # (T, D·P, B)
    dh_n = upstream_array("h_n", (L * D, B, P), True)
    dc_n = upstream_array("c_n", (L * D, B, H), True)
    grads = {}
    dh0, dc0 = np.zeros_like(h0b), np.zeros_like(c0b)
    for layer in reversed(range(L)):
        d_in = np.zeros_like(inputs[layer])
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            p = direction_weights(config, params, layer, d, dtype)
            idx = layer * D + d
            tape = tapes[idx]
            dy = d_out[:, d * P:(d + 1) * P]
            dz, dh_all, dpeep, dh, dc = _backward_direction(cell, p, tape, dy, dh_n[idx].T, dc_n[idx].T, mask,
                                                            step_orders[d])
            dh0[idx], dc0[idx] = dh.T, dc.T
            grads["weight_ih" + sfx] = dz @ inputs[layer].T
            grads["weight_hh" + sfx] = dz @ tape["h_prev"].T
            if config.bias:
                grads["bias_ih" + sfx] = dz.sum(axis=1)
                grads["bias_hh" + sfx] = grads["bias_ih" + sfx].copy()
            if config.proj_size:
                grads["weight_hr" + sfx] = dh_all @ tape["r"].T
            if config.peepholes:
                grads["peephole" + sfx] = dpeep
            d_in += p["weight_ih"].T @ dz
        # the gradient w.r.t. this layer's input is the one w.r.t. the layer below's output
        d_out = d_in.reshape(d_in.shape[0], T, B).transpose(1, 0, 2)
    grads["x"] = _unbatched(config, np.ascontiguousarray(d_out.transpose(0, 2, 1)))
    grads["h0"], grads["c0"] = _unbatched(config, dh0, True), _unbatched(config, dc0, True)
    return grads
