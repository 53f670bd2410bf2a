"""Gradients for the `numpy` implementation: a forward pass that keeps what the backward pass
needs, and backpropagation through time (independent of the reference).

It covers the standard LSTM (σ = sigmoid, φ = ψ = tanh, no peepholes, clip or coupled
input-forget) with every structural option: layers, bidirectional, projection, lengths,
batch_first, unbatched, initial states. Arrays are feature-major, as in numpy_lstm.py: a
direction's pre-activation gradients for all steps form one (4H, T·B) array, so the weight
gradients are one matrix product each, after the time loop.
"""
from __future__ import annotations

import numpy as np

from .numpy_lstm import check_inputs, direction_weights, is_standard

UNSUPPORTED = ("the numpy backward covers σ = sigmoid, φ = ψ = tanh without peepholes, cell clip "
               "or coupled input-forget")


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # cannot overflow


def _forward_direction(p, layer_in, h, c, mask, steps, outs):
    """One direction over the sequence, keeping per step the gate activations, the state it
    started from, tanh(c) and the unprojected output. Gates in (i, f, g, o) order."""
    H, B = c.shape
    T = len(steps)
    out_y, out_c = outs
    xw = p["weight_ih"] @ layer_in + p["bias"][:, None]
    tape = {"gates": np.empty((T, 4 * H, B), c.dtype), "h_prev": np.empty((h.shape[0], T * B), c.dtype),
            "c_prev": np.empty((T, H, B), c.dtype), "tanh_c": np.empty((T, H, B), c.dtype),
            "r": np.empty((H, T * B), c.dtype)}
    for t in steps:
        cols = slice(t * B, (t + 1) * B)
        tape["h_prev"][:, cols], tape["c_prev"][t] = h, c
        z = p["weight_hh"] @ h + xw[:, cols]
        gates = tape["gates"][t]
        gates[:2 * H] = _sigmoid(z[:2 * H])
        gates[2 * H:3 * H] = np.tanh(z[2 * H:3 * H])
        gates[3 * H:] = _sigmoid(z[3 * H:])
        i, f, g, o = gates[:H], gates[H:2 * H], gates[2 * H:3 * H], gates[3 * H:]
        c_new = f * c + i * g
        tape["tanh_c"][t] = np.tanh(c_new)
        r = tape["r"][:, cols] = o * tape["tanh_c"][t]
        h_new = p["weight_hr"] @ r if "weight_hr" in p else r
        if mask is None:
            h, c = h_new, c_new
        else:  # columns past their length carry their state and output zeros
            h, c = np.where(mask[t], h_new, h), np.where(mask[t], c_new, c)
            h_new, c_new = h_new * mask[t], c_new * mask[t]
        out_y[t], out_c[t] = h_new, c_new
    return h, c, tape


def _backward_direction(p, tape, dy, dh, dc, mask, steps):
    """Backpropagation through one direction. `dy` (T, P, B): the loss gradient w.r.t. this
    direction's outputs; dh, dc: w.r.t. its final state. Returns the pre-activation gradients
    (4H, T·B), the gradients w.r.t. each step's (projected) output h (P, T·B) and w.r.t. the
    initial state."""
    T, H, B = tape["c_prev"].shape
    dz_all = np.zeros((4 * H, T * B), dh.dtype)
    dh_all = np.zeros((dh.shape[0], T * B), dh.dtype)
    for t in reversed(steps):
        cols = slice(t * B, (t + 1) * B)
        keep = 1.0 if mask is None else mask[t]
        dh_new, dc_new = keep * (dy[t] + dh), keep * dc
        # a column past its length hands its state gradient straight to the previous step
        dh_carry, dc_carry = (0.0, 0.0) if mask is None else ((1 - keep) * dh, (1 - keep) * dc)
        gates = tape["gates"][t]
        i, f, g, o = gates[:H], gates[H:2 * H], gates[2 * H:3 * H], gates[3 * H:]
        tanh_c = tape["tanh_c"][t]
        dh_all[:, cols] = dh_new
        dr = p["weight_hr"].T @ dh_new if "weight_hr" in p else dh_new
        dc_new = dc_new + dr * o * (1 - tanh_c * tanh_c)
        dz = dz_all[:, cols]
        dz[:H] = dc_new * g * i * (1 - i)
        dz[H:2 * H] = dc_new * tape["c_prev"][t] * f * (1 - f)
        dz[2 * H:3 * H] = dc_new * i * (1 - g * g)
        dz[3 * H:] = dr * tanh_c * o * (1 - o)
        dh = p["weight_hh"].T @ dz + dh_carry
        dc = dc_new * f + dc_carry
    return dz_all, dh_all, dh, dc


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
    if not is_standard(config):
        raise ValueError(UNSUPPORTED)
    check_inputs(config, x, params, h0, c0, lengths)
    upstream = upstream or {}
    xb = np.asarray(_batched(config, x), dtype)
    T, B, _ = xb.shape
    H, P, D, L = config.hidden_size, config.output_size, config.num_directions, config.num_layers
    h0b = np.zeros((L * D, B, P), dtype) if h0 is None else np.asarray(_batched(config, h0, True), dtype)
    c0b = np.zeros((L * D, B, H), dtype) if c0 is None else np.asarray(_batched(config, c0, True), dtype)
    mask = None if lengths is None else (np.arange(T)[:, None] < np.asarray(lengths)[None, :])[:, None, :].astype(dtype)
    step_orders = [range(T), range(T - 1, -1, -1)]

    # forward, keeping each layer's input (features, T·B) and each direction's tape
    layer_in, inputs, tapes = np.ascontiguousarray(xb.reshape(T * B, xb.shape[-1]).T), [], []
    for layer in range(L):
        layer_out = np.empty((T, D * P, B), dtype)
        cells = np.empty((T, D * H, B), dtype)
        for d in range(D):
            p = direction_weights(config, params, layer, d, dtype)
            idx = layer * D + d
            outs = (layer_out[:, d * P:(d + 1) * P], cells[:, d * H:(d + 1) * H])
            *_, tape = _forward_direction(p, layer_in, h0b[idx].T, c0b[idx].T, mask, step_orders[d], outs)
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
            dz, dh_all, dh, dc = _backward_direction(p, tape, d_out[:, d * P:(d + 1) * P], dh_n[idx].T, dc_n[idx].T,
                                                 mask, step_orders[d])
            dh0[idx], dc0[idx] = dh.T, dc.T
            grads["weight_ih" + sfx] = dz @ inputs[layer].T
            grads["weight_hh" + sfx] = dz @ tape["h_prev"].T
            if config.bias:
                grads["bias_ih" + sfx] = dz.sum(axis=1)
                grads["bias_hh" + sfx] = grads["bias_ih" + sfx].copy()
            if config.proj_size:
                grads["weight_hr" + sfx] = dh_all @ tape["r"].T
            d_in += p["weight_ih"].T @ dz
        # the gradient w.r.t. this layer's input is the one w.r.t. the layer below's output
        d_out = d_in.reshape(d_in.shape[0], T, B).transpose(1, 0, 2)
    grads["x"] = _unbatched(config, np.ascontiguousarray(d_out.transpose(0, 2, 1)))
    grads["h0"], grads["c0"] = _unbatched(config, dh0, True), _unbatched(config, dc0, True)
    return grads
