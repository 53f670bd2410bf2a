"""`numpy`: an independent, vectorised NumPy LSTM (it does not import the reference).

The input projection of all time steps is one matrix product; each step then does one fused
4-gate recurrent product and the gate math on preallocated buffers. float32 and float64.
"""
from __future__ import annotations

import numpy as np

from ..adapter import Adapter, Capabilities
from ..adapter import FEATURES


def _sigmoid(z, out):
    # σ(z) = (1 + tanh(z/2)) / 2: one transcendental, and it cannot overflow.
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def activation_parameters(name, alpha, beta):
    """(alpha, beta) with the ONNX defaults filled in where the spec gives none."""
    a = {"leaky_relu": 0.01, "thresholded_relu": 1.0, "hard_sigmoid": 0.2, "elu": 1.0, "affine": 1.0}.get(name) if alpha is None else alpha
    b = {"hard_sigmoid": 0.5, "affine": 0.0}.get(name) if beta is None else beta
    return a, b


def activation(name, alpha, beta):
    """An in-place activation f(z, out) for the spec's activation names."""
    a, b = activation_parameters(name, alpha, beta)
    table = {
        "sigmoid": _sigmoid,
        "tanh": lambda z, out: np.tanh(z, out=out),
        "identity": lambda z, out: np.copyto(out, z) or out,
        "relu": lambda z, out: np.maximum(z, 0, out=out),
        "hard_sigmoid": lambda z, out: np.clip(z * a + b, 0, 1, out=out),
        "affine": lambda z, out: np.copyto(out, z * a + b) or out,
        "leaky_relu": lambda z, out: np.copyto(out, np.where(z >= 0, z, a * z)) or out,
        # ONNX's LSTM text: "x if x >= alpha else 0" (the stand-alone operator says x > alpha)
        "thresholded_relu": lambda z, out: np.copyto(out, np.where(z >= a, z, 0)) or out,
        "scaled_tanh": lambda z, out: np.copyto(out, a * np.tanh(b * z)) or out,
        "elu": lambda z, out: np.copyto(out, np.where(z >= 0, z, a * np.expm1(np.minimum(z, 0)))) or out,
        "softsign": lambda z, out: np.copyto(out, z / (1 + np.abs(z))) or out,
        "softplus": lambda z, out: np.copyto(out, np.logaddexp(0, z)) or out,
    }
    return table[name]


def check_inputs(config, x, params, h0, c0, lengths):
    """Reject what an LSTM cannot run, before computing anything (ValueError)."""
    H, P = config.hidden_size, config.proj_size
    if P and P >= H:
        raise ValueError(f"proj_size {P} must be smaller than hidden_size {H}")
    if x.ndim != (2 if config.unbatched else 3):
        raise ValueError(f"x must be {'2' if config.unbatched else '3'}-D, got shape {x.shape}")
    if x.shape[-1] != config.input_size:
        raise ValueError(f"x has {x.shape[-1]} features, expected input_size {config.input_size}")
    T = x.shape[1] if (config.batch_first and not config.unbatched) else x.shape[0]
    B = 1 if config.unbatched else x.shape[0 if config.batch_first else 1]
    if T < 1:
        raise ValueError("the sequence must have at least one step")
    lead = config.num_layers * config.num_directions
    batch = () if config.unbatched else (B,)
    for name, state, size in (("h0", h0, config.output_size), ("c0", c0, H)):
        if state is not None and state.shape != (lead, *batch, size):
            raise ValueError(f"{name} has shape {state.shape}, expected {(lead, *batch, size)}")
    for name, value in params.items():
        if name.startswith("weight_ih_l0") and value.shape[1] != config.input_size:
            raise ValueError(f"{name} has shape {value.shape}, expected (4H, {config.input_size})")
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (B,) or (B and (lengths.min() < 1 or lengths.max() > T)):
            raise ValueError(f"lengths must be {B} values in 1..{T}, got {lengths.tolist()}")


def is_standard(config) -> bool:
    """σ = sigmoid, φ = ψ = tanh, and nothing that needs per-gate work inside the step."""
    names = tuple(a.name for a in config.activations)
    plain = all(a.alpha is None and a.beta is None for a in config.activations)
    return (names == ("sigmoid", "tanh", "tanh") and plain and not config.peepholes
            and config.cell_clip is None and not config.input_forget)


def _direction_standard(xw, w_hh, w_hr, state, mask, outs, steps):
    """The hot loop for the standard LSTM; gates in (i, f, o, g) order, sigmoid rows halved.

    Each step writes its h and c straight into the output slabs, which then serve as the
    next step's state: no copies. `xw` holds every step's input projection, (4H, T·B).
    """
    h, c = state
    H, B = c.shape
    out_y, out_c = outs
    z = np.empty((4 * H, B), c.dtype)
    r = np.empty_like(c)
    for t in steps:
        np.matmul(w_hh, h, out=z)
        z += xw[:, t * B:(t + 1) * B]
        np.tanh(z, out=z)
        sig = z[:3 * H]
        sig *= 0.5
        sig += 0.5
        i, f, o, g = z[:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:]
        y_t, c_t = out_y[t], out_c[t]
        np.multiply(f, c, out=c_t)
        np.multiply(i, g, out=r)
        c_t += r
        np.tanh(c_t, out=r)
        if w_hr is None:
            np.multiply(r, o, out=y_t)
        else:
            r *= o
            np.matmul(w_hr, r, out=y_t)
        if mask is None:
            h, c = y_t, c_t
        else:  # columns past their length keep their state and output zeros
            h, c = np.where(mask[t], y_t, h), np.where(mask[t], c_t, c)
            y_t *= mask[t]
            c_t *= mask[t]
    return h, c


class Cell:
    """The configuration's activations and cell clip, as the general loop applies them."""

    def __init__(self, config):
        self.clip_value = config.cell_clip
        self.input_forget = config.input_forget
        self.functions = [activation(a.name, a.alpha, a.beta) for a in config.activations]

    def clip(self, z):
        # ONNX clip bounds every activation input, ψ's too
        return z if self.clip_value is None else np.clip(z, -self.clip_value, self.clip_value)

    def apply(self, k, z):
        """Activation k (0: σ, 1: φ, 2: ψ) of clip(z)."""
        return self.functions[k](self.clip(z), np.empty_like(z))


def _direction_general(cell, xw, w_hh, w_hr, peep, state, mask, outs, steps):
    """Any activations, peepholes, clip and coupled input-forget; gates in (i, f, g, o) order.

    Returns the final state and the tape the backward pass needs (numpy_lstm_training.py):
    per step the pre-activations z (before the clip), the gate values, the state the step
    started from, the new cell state c' (carried unclipped), ψ(clip(c')) and the unprojected
    output r; h_prev and r are (features, T·B), the rest (T, features, B).
    """
    h, c = state
    H, B = c.shape
    T = len(steps)
    out_y, out_c = outs
    tape = {"z": np.empty((T, 4 * H, B), c.dtype), "gates": np.empty((T, 4 * H, B), c.dtype),
            "h_prev": np.empty((h.shape[0], T * B), c.dtype), "c_prev": np.empty((T, H, B), c.dtype),
            "c_new": np.empty((T, H, B), c.dtype), "psi": np.empty((T, H, B), c.dtype),
            "r": np.empty((H, T * B), c.dtype)}
    for t in steps:
        cols = slice(t * B, (t + 1) * B)
        tape["h_prev"][:, cols], tape["c_prev"][t] = h, c
        z, gates = tape["z"][t], tape["gates"][t]
        np.matmul(w_hh, h, out=z)
        z += xw[:, cols]
        if peep is not None:
            z[:H] += peep[0] * c
            z[H:2 * H] += peep[1] * c
        gates[:H] = cell.apply(0, z[:H])
        gates[H:2 * H] = 1.0 - gates[:H] if cell.input_forget else cell.apply(0, z[H:2 * H])
        gates[2 * H:3 * H] = cell.apply(1, z[2 * H:3 * H])
        i, f, g = gates[:H], gates[H:2 * H], gates[2 * H:3 * H]
        c_new = tape["c_new"][t] = f * c + i * g
        if peep is not None:
            z[3 * H:] += peep[2] * c_new
        o = gates[3 * H:] = cell.apply(0, z[3 * H:])
        tape["psi"][t] = cell.apply(2, c_new)
        r = tape["r"][:, cols] = o * tape["psi"][t]
        h_new = w_hr @ r if w_hr is not None else r
        if mask is None:
            h, c = h_new, c_new
        else:  # columns past their length carry their state and output zeros
            h, c = np.where(mask[t], h_new, h), np.where(mask[t], c_new, c)
            h_new, c_new = h_new * mask[t], c_new * mask[t]
        out_y[t], out_c[t] = h_new, c_new
    return h, c, tape


def pack_weights(config, params, dtype=np.float32, fast=None):
    """Each layer and direction's weights in the layout the loops use, made once per model.

    Returns a list of (w_ih, w_hh, bias (4H, 1), w_hr, peepholes (3, H, 1)) in layer-major,
    forward-first order, the two biases (and forget_bias) summed. For the fast loop (`fast`,
    by default is_standard(config)) the gate blocks are reordered to (i, f, o, g) and the
    sigmoid rows halved (exact in binary floating point), so one tanh over all 4H gives
    tanh(z/2) for i, f, o (σ(z) = (1 + tanh(z/2)) / 2) and tanh(z) for g; otherwise they stay
    in the canonical (i, f, g, o) order.
    """
    H = config.hidden_size
    fast = is_standard(config) if fast is None else fast
    packed = []
    for layer in range(config.num_layers):
        for d in range(config.num_directions):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih = np.asarray(params["weight_ih" + sfx], dtype)
            w_hh = np.asarray(params["weight_hh" + sfx], dtype)
            bias = (np.asarray(params["bias_ih" + sfx], dtype) + np.asarray(params["bias_hh" + sfx], dtype)
                    if config.bias else np.zeros(4 * H, dtype))
            if config.forget_bias:
                bias[H:2 * H] += dtype(config.forget_bias)
            if fast:
                order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
                scale = np.r_[np.full(3 * H, 0.5), np.ones(H)].astype(dtype)
                w_ih, w_hh, bias = w_ih[order] * scale[:, None], w_hh[order] * scale[:, None], bias[order] * scale
            w_hr = np.ascontiguousarray(params["weight_hr" + sfx], dtype) if config.proj_size else None
            peep = np.asarray(params["peephole" + sfx], dtype)[:, :, None] if config.peepholes else None
            packed.append((np.ascontiguousarray(w_ih), np.ascontiguousarray(w_hh), bias[:, None], w_hr, peep))
    return packed


def time_major(config, array, state=False):
    """A caller-layout input, output or gradient as time-major batched: (T, B, F), or
    (L·D, B, F) for a state."""
    if array is None:
        return None
    if config.unbatched:
        return array[:, None, :]
    return np.swapaxes(array, 0, 1) if (config.batch_first and not state) else array


def caller_layout(config, array, state=False):
    """The inverse of time_major."""
    if config.unbatched:
        return array[:, 0]
    return np.swapaxes(array, 0, 1) if (config.batch_first and not state) else array


def feature_major_inputs(config, x, h0, c0, lengths, dtype):
    """T; x as (I, T·B), where column t·B + b is step t of sequence b; h0 and c0 as (L·D, F, B),
    zeros where not given; the lengths as a (T, 1, B) mask of the steps inside each sequence."""
    x = time_major(config, x)
    T, B, _ = x.shape
    H, P, LD = config.hidden_size, config.output_size, config.num_layers * config.num_directions
    layer_in = np.ascontiguousarray(x, dtype).reshape(T * B, x.shape[-1]).T  # a transposed view, no copy
    h_n = np.zeros((LD, P, B), dtype) if h0 is None else np.array(np.swapaxes(time_major(config, h0, True), 1, 2),
                                                                   dtype, order="C")
    c_n = np.zeros((LD, H, B), dtype) if c0 is None else np.array(np.swapaxes(time_major(config, c0, True), 1, 2),
                                                                   dtype, order="C")
    mask = None if lengths is None else (np.arange(T)[:, None] < np.asarray(lengths)[None, :])[:, None, :]
    return T, layer_in, h_n, c_n, mask


def run_layers(config, packed, T, layer_in, h_n, c_n, mask, fast):
    """The forward pass over every layer and direction, in feature-major arrays. h_n and c_n
    hold the initial state and are overwritten with the final one. Returns the last layer's
    outputs and cells, (T, D·F, B), each layer's input (features, T·B) and, for the general
    loop, each direction's tape (None for the fast loop)."""
    H, P, D, L = config.hidden_size, config.output_size, config.num_directions, config.num_layers
    B = h_n.shape[2]
    cell = None if fast else Cell(config)
    inputs, tapes = [], []
    for layer in range(L):
        layer_out = np.empty((T, D * P, B), h_n.dtype)
        cells = np.empty((T, D * H, B), h_n.dtype)
        for d in range(D):
            idx = layer * D + d
            w_ih, w_hh, bias, w_hr, peep = packed[idx]
            xw = w_ih @ layer_in  # all steps' input projections in one GEMM: (4H, T·B)
            xw += bias
            outs = (layer_out[:, d * P:(d + 1) * P], cells[:, d * H:(d + 1) * H])
            steps = range(T - 1, -1, -1) if d else range(T)
            state = (h_n[idx], c_n[idx])
            if fast:
                h_n[idx], c_n[idx] = _direction_standard(xw, w_hh, w_hr, state, mask, outs, steps)
                tapes.append(None)
            else:
                h_n[idx], c_n[idx], tape = _direction_general(cell, xw, w_hh, w_hr, peep, state, mask, outs, steps)
                tapes.append(tape)
        inputs.append(layer_in)
        if layer + 1 < L:
            layer_in = np.ascontiguousarray(layer_out.transpose(1, 0, 2)).reshape(D * P, T * B)
    return layer_out, cells, inputs, tapes


def lstm_numpy(config, x, params, h0=None, c0=None, lengths=None, dtype=np.float32, packed=None):
    """Forward pass; returns {"y", "h_n", "c_n", "c"} in the input's layout and `dtype`.

    Inside, every array is feature-major: a state is (features, batch) and a step's gates are
    W_hh @ h, a (4H, B) product. With a small batch OpenBLAS runs that orientation up to twice
    as fast as h @ W_hh.T (docs/PERFORMANCE.md), and the gate blocks become contiguous rows.
    `packed` is pack_weights(config, params, dtype), when the caller has made it already.
    """
    check_inputs(config, x, params, h0, c0, lengths)
    packed = pack_weights(config, params, dtype) if packed is None else packed
    T, layer_in, h_n, c_n, mask = feature_major_inputs(config, x, h0, c0, lengths, dtype)
    y, cells, _, _ = run_layers(config, packed, T, layer_in, h_n, c_n, mask, is_standard(config))
    # back to the caller's layout, as views
    return {"y": caller_layout(config, y.transpose(0, 2, 1)), "c": caller_layout(config, cells.transpose(0, 2, 1)),
            "h_n": caller_layout(config, np.swapaxes(h_n, 1, 2), True),
            "c_n": caller_layout(config, np.swapaxes(c_n, 1, 2), True)}


class NumpyAdapter(Adapter):
    name = "numpy"
    description = "independent vectorised NumPy LSTM (implementations/numpy_lstm.py)"

    def capabilities(self):
        return Capabilities(dtypes={"float32", "float64"}, features=set(FEATURES), activations=None,
                            outputs={"y", "h_n", "c_n", "c"}, gradients=True)

    @staticmethod
    def _inputs(problem):
        dtype = np.dtype(problem.dtype).type
        cast = lambda a: None if a is None else a.astype(dtype)  # noqa: E731
        params = {k: v.astype(dtype) for k, v in problem.params.items()}
        return dtype, cast(problem.x), params, cast(problem.h0), cast(problem.c0)

    def prepare(self, problem):
        dtype, x, params, h0, c0 = self._inputs(problem)
        try:  # weights are laid out once per model, as a module holds its parameters
            packed = pack_weights(problem.config, params, dtype)
        except (KeyError, ValueError, IndexError):
            packed = None  # lstm_numpy's own input checks report what is wrong, when called
        return lambda: lstm_numpy(problem.config, x, params, h0, c0, problem.lengths, dtype, packed)

    def gradients(self, problem, upstream):
        from .numpy_lstm_training import lstm_numpy_gradients
        dtype, x, params, h0, c0 = self._inputs(problem)
        return lstm_numpy_gradients(problem.config, x, params, h0, c0, problem.lengths, upstream, dtype)

    def prepare_training(self, problem):
        """Forward, then backward of sum(y) (see Adapter.prepare_training)."""
        from .numpy_lstm_training import lstm_numpy_gradients
        dtype, x, params, h0, c0 = self._inputs(problem)
        y_shape = problem.x.shape[:-1] + (problem.config.num_directions * problem.config.output_size,)
        ones = {"y": np.ones(y_shape, dtype)}
        return lambda: lstm_numpy_gradients(problem.config, x, params, h0, c0, problem.lengths, ones, dtype)
