"""The forward pass of the `numpy` implementation: an independent, vectorised NumPy LSTM (it
does not import the reference). The adapter is in numpy_lstm.py.

The input projection of all time steps is one matrix product; each step then does one fused
4-gate recurrent product and the gate math on preallocated buffers. float32 and float64.
The standard LSTM has two such loops, feature-major and batch-major in column blocks, and
gemm_block picks the faster for the batch; every other configuration runs the general loop,
which also records what numpy_lstm_training.py's backward pass needs.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np



def _sigmoid(z, out):
    # σ(z) = (1 + tanh(z/2)) / 2: one transcendental, and it cannot overflow.
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


DEFAULT_ALPHA = {"leaky_relu": 0.01, "thresholded_relu": 1.0, "hard_sigmoid": 0.2, "elu": 1.0, "affine": 1.0}
DEFAULT_BETA = {"hard_sigmoid": 0.5, "affine": 0.0}


def activation_parameters(name, alpha, beta):
    """(alpha, beta) with the ONNX defaults filled in where the spec gives none."""
    return (DEFAULT_ALPHA.get(name) if alpha is None else alpha, DEFAULT_BETA.get(name) if beta is None else beta)


# Each spec activation as a maker of an in-place f(z, out) from its (alpha, beta): the table is
# built once, and a call makes only the one function it needs. tanh is the ufunc itself (its
# second positional argument is `out`): no Python frame per call.
_ACTIVATIONS = {
    "sigmoid": lambda a, b: _sigmoid,
    "tanh": lambda a, b: np.tanh,
    "identity": lambda a, b: lambda z, out: np.copyto(out, z) or out,
    "relu": lambda a, b: lambda z, out: np.maximum(z, 0, out=out),
    "hard_sigmoid": lambda a, b: lambda z, out: np.clip(z * a + b, 0, 1, out=out),
    "affine": lambda a, b: lambda z, out: np.copyto(out, z * a + b) or out,
    "leaky_relu": lambda a, b: lambda z, out: np.copyto(out, np.where(z >= 0, z, a * z)) or out,
    # ONNX's LSTM text: "x if x >= alpha else 0" (the stand-alone operator says x > alpha)
    "thresholded_relu": lambda a, b: lambda z, out: np.copyto(out, np.where(z >= a, z, 0)) or out,
    "scaled_tanh": lambda a, b: lambda z, out: np.copyto(out, a * np.tanh(b * z)) or out,
    "elu": lambda a, b: lambda z, out: np.copyto(out, np.where(z >= 0, z, a * np.expm1(np.minimum(z, 0)))) or out,
    "softsign": lambda a, b: lambda z, out: np.copyto(out, z / (1 + np.abs(z))) or out,
    "softplus": lambda a, b: lambda z, out: np.copyto(out, np.logaddexp(0, z)) or out,
}


def activation(name, alpha, beta):
    """An in-place activation f(z, out) for the spec's activation names."""
    return _ACTIVATIONS[name](*activation_parameters(name, alpha, beta))


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
    B = batch_size(config, x)
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
    """σ = sigmoid, φ = ψ = tanh (in both directions), and nothing that needs per-gate work
    inside the step."""
    if (config.peepholes or config.cell_clip is not None or config.input_forget or config.padding != "zeros"
            or config.state_clip is not None or config.proj_clip is not None or config.layer_norm):
        return False
    sets = [config.activations] + ([config.activations_reverse] if config.activations_reverse is not None else [])
    return all(len(acts) == 3 and all(a.name == name and a.alpha is None and a.beta is None
                                      for a, name in zip(acts, ("sigmoid", "tanh", "tanh"))) for acts in sets)


def _gate_views(z, n):
    """The views of the step's pre-activation buffer z (reused every step) that _gates_and_cell
    works on: z, the σ rows, and the i, f, o and g blocks of n rows along axis 0, made once."""
    return z, z[:3 * n], z[:n], z[n:2 * n], z[2 * n:3 * n], z[3 * n:]


def _gates_and_cell(views, c, c_t, out):
    """One step's gate math, in place, shared by the two fast loops. `views` (_gate_views) show
    the step's pre-activations z in (i, f, o, g) blocks, the sigmoid rows halved (pack_weights);
    c is the previous cell state. Writes the new cell state into c_t and o·tanh(c_t) into `out`
    (also used as scratch). All arrays share one layout."""
    z, sig, i, f, o, g = views
    np.tanh(z, out=z)
    sig *= 0.5
    sig += 0.5
    np.multiply(f, c, out=c_t)
    np.multiply(i, g, out=out)
    c_t += out
    np.tanh(c_t, out=out)
    out *= o


def _direction_standard(xw, w_hh, w_hr, state, mask, outs, steps):
    """The standard LSTM's hot loop in feature-major layout: a step's gates are W_hh @ h, (4H, B).

    Each step writes its h and c straight into the output slabs, which then serve as the
    next step's state: no copies. `xw` holds every step's input projection, (4H, T·B).
    """
    h, c = state
    H, B = c.shape
    out_y, out_c = outs
    z = np.empty((4 * H, B), c.dtype)
    views = _gate_views(z, H)
    cell_out = None if w_hr is None else np.empty_like(c)
    for t in steps:
        np.matmul(w_hh, h, out=z)
        z += xw[:, t * B:(t + 1) * B]
        y_t, c_t = out_y[t], out_c[t]
        _gates_and_cell(views, c, c_t, y_t if w_hr is None else cell_out)
        if w_hr is not None:
            np.matmul(w_hr, cell_out, out=y_t)
        if mask is None:
            h, c = y_t, c_t
        else:  # columns past their length keep their state and output zeros
            h, c = np.where(mask[t], y_t, h), np.where(mask[t], c_t, c)
            y_t *= mask[t]
            c_t *= mask[t]
    return h, c


def _direction_blocked(xw, w_hh, w_hr, state, mask, outs, steps):
    """The standard LSTM's hot loop in batch-major layout, for small batches (gemm_block).

    w_hh holds W_hhᵀ cut into column blocks of width r, (4H/r, P, r), so one stacked product
    h @ w_hh gives the step's gates as (4H/r, B, r): gate k is blocks k·H/r to (k+1)·H/r, and
    unit j of sequence b sits at [j // r, b, j % r]. `blocks` shows a batch-major (B, H) slab
    in that layout, so each step writes h and c straight into the output slabs, as the
    feature-major loop does. xw: every step's input projection, (T·B, 4H). h and c are
    (B, P) and (B, H), and so are the returned final states.
    """
    h, c = state
    nb, _, r = w_hh.shape
    B, n = h.shape[0], nb // 4

    def blocks(a):  # (..., B, F) as (..., F/r, B, r): a view, as only the unit-stride last axis is split
        return a.reshape(*a.shape[:-1], a.shape[-1] // r, r).swapaxes(-2, -3)

    out_y, out_c = outs
    xw = blocks(xw.reshape(len(out_y), B, nb * r))
    c_blocks = blocks(out_c)
    if w_hr is None:
        y_blocks = blocks(out_y)
    else:  # o·tanh(c) goes to a (B, H) buffer, then through the projection into y
        cell_out = np.empty((B, n * r), h.dtype)
        y_blocks = [blocks(cell_out)] * len(out_y)
    z = np.empty((nb, B, r), h.dtype)
    views = _gate_views(z, n)
    c = blocks(c)
    for t in steps:
        np.matmul(h, w_hh, out=z)
        z += xw[t]
        y_t, c_t = out_y[t], c_blocks[t]
        _gates_and_cell(views, c, c_t, y_blocks[t])
        if w_hr is not None:
            np.matmul(cell_out, w_hr, out=y_t)
        if mask is None:
            h, c = y_t, c_t
        else:  # sequences past their length keep their state and output zeros
            keep_h, keep_c = mask[t][:, None], mask[t][None, :, None]
            h, c = np.where(keep_h, y_t, h), np.where(keep_c, c_t, c)
            y_t *= keep_h
            c_t *= keep_c
    return h, c.transpose(1, 0, 2).reshape(B, n * r)


def direction_activations(config, d):
    """Direction d's (σ, φ, ψ): a bidirectional LSTM's reverse direction (d = 1) has its own when
    the configuration gives activations_reverse (ONNX's six activations)."""
    if d == 1 and config.activations_reverse is not None:
        return config.activations_reverse
    return config.activations


class Cell:
    """The activations of one direction and the cell clip, as the general loop applies them."""

    def __init__(self, config, d=0):
        self.clip_value = config.cell_clip
        self.input_forget = config.input_forget
        # the output gate's peephole sees the state entering the step (WebNN) instead of c'
        self.output_peephole_previous = config.peephole_output_state == "previous"
        # TF1 cell_clip on the state itself, TF1/TFLite projection clip, Keras-style carried padding
        self.state_clip, self.proj_clip = config.state_clip, config.proj_clip
        self.carry = config.padding == "carry"
        names = direction_activations(config, d)
        self.functions = [activation(a.name, a.alpha, a.beta) for a in names]
        self.sigmoid_gates = names[0].name == "sigmoid"  # σ is the logistic function (any clip aside)

    def clip(self, z):
        # ONNX clip bounds every activation input, ψ's too
        return z if self.clip_value is None else np.clip(z, -self.clip_value, self.clip_value)

    def step_functions(self):
        """(σ, φ, ψ) as f(z, out) of clip(z), written into `out`: without a clip, the
        activations themselves (the general loop calls these several times a step)."""
        if self.clip_value is None:
            return tuple(self.functions)
        return tuple((lambda z, out, f=f: f(self.clip(z), out)) for f in self.functions)


LN_EPS = 1e-8  # TFLite's MeanStddevNormalization constant


def _normalise(z):
    """Each column of z (units, B) to mean 0 and variance 1 over the units: (z − μ)/√(σ² + 1e-8)."""
    d = z - z.mean(axis=0)
    return d / np.sqrt((d * d).mean(axis=0) + LN_EPS)


def _direction_general(cell, xw, w_hh, w_hr, peep, state, mask, outs, steps, norm=None):
    """Any activations, peepholes, clip and coupled input-forget; gates in (i, f, g, o) order.
    `norm`: (γ (4, H, 1), bias (4H, 1)) for the layer-normalised LSTM (TFLite), else None.

    Returns the final state and the tape the backward pass needs (numpy_lstm_training.py):
    per step the pre-activations z (before the clip), the gate values, the state the step
    started from, the new cell state c' (carried unclipped), ψ(clip(c')), and where they differ
    from what the backward pass has already: c' before the state clip (c_raw), the unprojected
    output r and the projected output before the projection clip (h_raw); h_prev, r and h_raw
    are (features, T·B), the rest (T, features, B).
    """
    h, c = state
    H, B = c.shape
    T = len(steps)
    out_y, out_c = outs
    tape = {"z": np.empty((T, 4 * H, B), c.dtype), "gates": np.empty((T, 4 * H, B), c.dtype),
            "h_prev": np.empty((h.shape[0], T * B), c.dtype), "c_prev": np.empty((T, H, B), c.dtype),
            "c_new": np.empty((T, H, B), c.dtype), "psi": np.empty((T, H, B), c.dtype)}
    # without a state clip, c' before the clip is c' itself
    tape["c_raw"] = tape["c_new"] if cell.state_clip is None else np.empty((T, H, B), c.dtype)
    if w_hr is not None:
        tape["r"] = np.empty((H, T * B), c.dtype)
    if cell.proj_clip is not None:
        tape["h_raw"] = np.empty((out_y.shape[1], T * B), c.dtype)
    if norm is not None:
        tape["ln_in"], tape["ln_out"] = np.empty((T, 4 * H, B), c.dtype), np.empty((T, 4 * H, B), c.dtype)

    def normalised(t, k, z):  # block k of z in place: normalise, times γ_k, plus the bias
        rows = slice(k * H, (k + 1) * H)
        tape["ln_in"][t][rows] = z[rows]
        n = tape["ln_out"][t][rows] = _normalise(z[rows])
        z[rows] = n * norm[0][k] + norm[1][rows]

    if cell.carry:
        last_y, last_c = np.zeros_like(out_y[0]), np.zeros_like(out_c[0])  # carried past a row's length
    sigma, phi, psi = cell.step_functions()
    # σ over all four blocks at once where it is the logistic function and the output gate needs
    # nothing made after c' (a peephole, layer norm); the g rows then get φ. Its steps are unary
    # or take a scalar, so the numbers (NaN payloads too) do not depend on how many rows one call
    # covers; a product of two arrays could (x86 keeps the first NaN, and NumPy's SIMD loop and
    # its tail put the operands in different orders). Otherwise σ of the i and f rows, and of
    # the o rows after c'.
    sigma_first = cell.sigmoid_gates and peep is None and norm is None and not cell.input_forget
    # Without lengths, the state entering each step is the previous step's output: the tape's
    # h_prev and c_prev and the c outputs are then copied in bulk after the loop, and h' = r
    # goes straight into y where there is no projection or clip.
    bulk = mask is None
    r_into_y = bulk and w_hr is None and cell.proj_clip is None
    h_first, c_first = h, c
    # the tape's arrays as locals: the loop below runs once per step, and small steps are many
    z_all, gates_all, h_prev, c_prev = tape["z"], tape["gates"], tape["h_prev"], tape["c_prev"]
    c_raw_all, c_new_all, psi_all = tape["c_raw"], tape["c_new"], tape["psi"]
    for t in steps:
        cols = slice(t * B, (t + 1) * B)
        if not bulk:
            h_prev[:, cols], c_prev[t] = h, c
        z, gates = z_all[t], gates_all[t]
        np.matmul(w_hh, h, out=z)
        z += xw[:, cols]
        if peep is not None:
            z[:H] += peep[0] * c
            z[H:2 * H] += peep[1] * c
        if norm is not None:
            for k in range(3):
                normalised(t, k, z)
        i, f, g, o = gates[:H], gates[H:2 * H], gates[2 * H:3 * H], gates[3 * H:]
        if sigma_first:
            sigma(z, gates)
        elif cell.input_forget:
            sigma(z[:H], i)
            np.subtract(1.0, i, out=f)
        else:  # i and f are adjacent rows: one σ over both
            sigma(z[:2 * H], gates[:2 * H])
        phi(z[2 * H:3 * H], g)
        c_new = np.add(f * c, i * g, out=c_raw_all[t])  # f·c + i·g, straight into the tape
        if cell.state_clip is not None:
            c_new = np.clip(c_new, -cell.state_clip, cell.state_clip, out=c_new_all[t])
        if not sigma_first:
            if peep is not None:
                z[3 * H:] += peep[2] * (c if cell.output_peephole_previous else c_new)
            if norm is not None:
                normalised(t, 3, z)
            sigma(z[3 * H:], o)
        psi_t = psi(c_new, psi_all[t])
        if r_into_y:
            h, c = np.multiply(o, psi_t, out=out_y[t]), c_new
            continue
        r = o * psi_t
        if w_hr is None:
            h_new = r
        else:
            h_new = w_hr @ r
            tape["r"][:, cols] = r
        if cell.proj_clip is not None:
            tape["h_raw"][:, cols] = h_new
            h_new = np.clip(h_new, -cell.proj_clip, cell.proj_clip)
        if mask is None:
            h, c = h_new, c_new
            out_y[t] = h_new
            continue
        # columns past their length carry their state and output zeros (or, carry: the last output)
        h, c = np.where(mask[t], h_new, h), np.where(mask[t], c_new, c)
        if cell.carry:
            h_new, c_new = np.where(mask[t], h_new, last_y), np.where(mask[t], c_new, last_c)
            last_y, last_c = h_new, c_new
        else:
            h_new, c_new = h_new * mask[t], c_new * mask[t]
        out_y[t], out_c[t] = h_new, c_new
    if bulk:  # each step's entering state is the one before it made: y and c' of the previous step
        out_c[...] = c_new_all
        first, later, earlier = (T - 1, slice(0, T - 1), slice(1, T)) if steps[0] else (0, slice(1, T), slice(0, T - 1))
        h_steps = h_prev.reshape(h_prev.shape[0], T, B)  # a view: column t·B + b is step t of sequence b
        h_steps[:, first], c_prev[first] = h_first, c_first
        h_steps[:, later] = out_y[earlier].transpose(1, 0, 2)
        c_prev[later] = c_new_all[earlier]
    return h, c, tape


def gemm_block(batch, hidden, width):
    """The block width r of the batch-major fast loop (_direction_blocked) for this batch, or
    None where the feature-major loop is faster.

    The batch-major loop computes a step's gates as 4H/r products of (B, P) @ (P, r) in one
    stacked matmul. OpenBLAS's x86-64 AVX-512 kernels run a product of M·N·K ≤ 100³ through
    their small-matrix path (gemm_small_kernel_permit), which reads the operands in place
    instead of repacking them, and the large W_hh is then not copied on every step: at
    B = 16, H = 512 the step's product runs at about 220 GFLOP/s instead of 145
    (docs/PERFORMANCE.md). Blocks narrower than 32 run slower than the single product, and a
    single sequence (B = 1) gains nothing.
    """
    if batch < 2:
        return None
    for r in (64, 32):
        if hidden % r == 0 and batch * r * width <= 100 ** 3:
            return r
    return None


@lru_cache(maxsize=64)
def _fast_rows(H, dtype):
    """The fast loop's row order (i, f, o, g) and the rows' scale (½ for σ's rows), read-only."""
    order = np.concatenate([np.arange(2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])
    scale = np.full(4 * H, 0.5, dtype)
    scale[3 * H:] = 1.0
    order.flags.writeable = scale.flags.writeable = False
    return order, scale


@dataclass
class PackedWeights:
    """pack_weights' result. `layers` holds one (w_ih, w_hh, bias, w_hr, peepholes) per layer and
    direction, layer-major, forward first; `block` is the batch-major loop's block width, or
    None for the feature-major layouts."""
    layers: list
    block: Optional[int] = None
    norms: Optional[list] = None  # layer_norm: (γ (4, H, 1), bias (4H, 1)) per layer and direction
    fast: bool = False  # laid out for the standard LSTM's fast loops (see pack_weights)


def pack_weights(config, params, dtype=np.float32, fast=None, batch=None, block="auto"):
    """Each layer and direction's weights in the layout the loops use, made once per model.

    The two biases (and forget_bias) are summed. Feature-major (block None): w_ih (4H, I),
    w_hh (4H, P), bias (4H, 1), w_hr (P, H), peepholes (3, H, 1). For the fast loop (`fast`,
    by default is_standard(config)) the gate blocks are reordered to (i, f, o, g) and the
    sigmoid rows halved (exact in binary floating point), so one tanh over all 4H gives
    tanh(z/2) for i, f, o (σ(z) = (1 + tanh(z/2)) / 2) and tanh(z) for g; otherwise they stay
    in the canonical (i, f, g, o) order. With a block width r (by default gemm_block(batch,
    ...) for the fast loop; an int forces one, None forces feature-major), the fast loop runs
    batch-major: w_ih becomes W_ihᵀ (I, 4H), w_hh the column blocks of W_hhᵀ (4H/r, P, r),
    bias (4H,) and w_hr W_hrᵀ (H, P).
    """
    H, P = config.hidden_size, config.output_size
    fast = is_standard(config) if fast is None else fast
    if block == "auto":
        block = gemm_block(batch, H, P) if (fast and batch) else None
    if block and (not fast or H % block):
        raise ValueError(f"block width {block}: the batch-major loop needs the standard LSTM and a width that "
                         f"divides hidden_size {H}")
    layers, norms = [], ([] if config.layer_norm else None)
    if fast:
        order, scale = _fast_rows(H, np.dtype(dtype))
    for layer in range(config.num_layers):
        for d in range(config.num_directions):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w_ih = np.asarray(params["weight_ih" + sfx], dtype)
            w_hh = np.asarray(params["weight_hh" + sfx], dtype)
            bias = (np.asarray(params["bias_ih" + sfx], dtype) + np.asarray(params["bias_hh" + sfx], dtype)
                    if config.bias else np.zeros(4 * H, dtype))
            if config.forget_bias:
                bias[H:2 * H] += dtype(config.forget_bias)
            if config.layer_norm:  # the bias goes after the normalisation, not into x's projection
                norms.append((np.asarray(params["layer_norm" + sfx], dtype)[:, :, None], bias[:, None]))
                bias = np.zeros(4 * H, dtype)
            if fast:
                w_ih, w_hh, bias = w_ih[order] * scale[:, None], w_hh[order] * scale[:, None], bias[order] * scale
            w_hr = np.asarray(params["weight_hr" + sfx], dtype) if config.proj_size else None
            peep = np.asarray(params["peephole" + sfx], dtype)[:, :, None] if config.peepholes else None
            if block:
                blocks = w_hh.reshape(4 * H // block, block, P).transpose(0, 2, 1)
                layers.append((np.ascontiguousarray(w_ih.T), np.ascontiguousarray(blocks), bias,
                               None if w_hr is None else np.ascontiguousarray(w_hr.T), None))
            else:
                layers.append((np.ascontiguousarray(w_ih), np.ascontiguousarray(w_hh), bias[:, None],
                               None if w_hr is None else np.ascontiguousarray(w_hr), peep))
    return PackedWeights(layers, block, norms, fast)


def reverse_direction(config, d):
    """Whether direction d runs from the last step down: the second of two directions, or the
    only one when the configuration's direction is "reverse"."""
    return d == 1 or config.direction == "reverse"


def batch_size(config, x):
    """B of an input in the caller's layout (1 when unbatched)."""
    return 1 if config.unbatched else x.shape[0 if config.batch_first else 1]


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


def run_layers(config, packed, T, layer_in, h_n, c_n, mask, fast, direction_cells=None):
    """The forward pass over every layer and direction, in feature-major arrays. h_n and c_n
    hold the initial state and are overwritten with the final one. Returns the last layer's
    outputs and cells, (T, D·F, B), each layer's input (features, T·B) and, for the general
    loop, each direction's tape (None for the fast loop). `direction_cells`: the general loop's
    Cell per direction, when the caller has made them."""
    H, P, D, L = config.hidden_size, config.output_size, config.num_directions, config.num_layers
    B = h_n.shape[2]
    cells_by_direction = None if fast else (direction_cells or [Cell(config, d) for d in range(D)])
    inputs, tapes = [], []
    for layer in range(L):
        layer_out = np.empty((T, D * P, B), h_n.dtype)
        cells = np.empty((T, D * H, B), h_n.dtype)
        for d in range(D):
            idx = layer * D + d
            w_ih, w_hh, bias, w_hr, peep = packed.layers[idx]
            xw = w_ih @ layer_in  # all steps' input projections in one GEMM: (4H, T·B)
            xw += bias
            outs = (layer_out[:, d * P:(d + 1) * P], cells[:, d * H:(d + 1) * H])
            steps = range(T - 1, -1, -1) if reverse_direction(config, d) else range(T)
            state = (h_n[idx], c_n[idx])
            if fast:
                h_n[idx], c_n[idx] = _direction_standard(xw, w_hh, w_hr, state, mask, outs, steps)
                tapes.append(None)
            else:
                norm = packed.norms[idx] if packed.norms is not None else None
                h_n[idx], c_n[idx], tape = _direction_general(cells_by_direction[d], xw, w_hh, w_hr, peep, state, mask,
                                                              outs, steps, norm)
                tapes.append(tape)
        inputs.append(layer_in)
        if layer + 1 < L:
            layer_in = np.ascontiguousarray(layer_out.transpose(1, 0, 2)).reshape(D * P, T * B)
    return layer_out, cells, inputs, tapes


def run_layers_blocked(config, packed, x, h0, c0, lengths, dtype):
    """The standard LSTM over every layer and direction through the batch-major loop
    (_direction_blocked). Returns y and c as (T, B, D·F) and h_n and c_n as (L·D, B, F)."""
    x = time_major(config, x)
    T, B, _ = x.shape
    H, P, D, L = config.hidden_size, config.output_size, config.num_directions, config.num_layers
    layer_in = np.ascontiguousarray(x, dtype).reshape(T * B, x.shape[-1])
    h_n = np.zeros((L * D, B, P), dtype) if h0 is None else np.array(time_major(config, h0, True), dtype, order="C")
    c_n = np.zeros((L * D, B, H), dtype) if c0 is None else np.array(time_major(config, c0, True), dtype, order="C")
    mask = None if lengths is None else np.arange(T)[:, None] < np.asarray(lengths)[None, :]
    for layer in range(L):
        layer_out, cells = np.empty((T, B, D * P), dtype), np.empty((T, B, D * H), dtype)
        for d in range(D):
            idx = layer * D + d
            w_ih, w_hh, bias, w_hr, _ = packed.layers[idx]
            xw = layer_in @ w_ih  # all steps' input projections in one GEMM: (T·B, 4H)
            xw += bias
            outs = (layer_out[:, :, d * P:(d + 1) * P], cells[:, :, d * H:(d + 1) * H])
            steps = range(T - 1, -1, -1) if reverse_direction(config, d) else range(T)
            h_n[idx], c_n[idx] = _direction_blocked(xw, w_hh, w_hr, (h_n[idx], c_n[idx]), mask, outs, steps)
        layer_in = layer_out.reshape(T * B, D * P)
    return layer_out, cells, h_n, c_n


def lstm_numpy(config, x, params, h0=None, c0=None, lengths=None, dtype=np.float32, packed=None):
    """Forward pass; returns {"y", "h_n", "c_n", "c"} in the input's layout and `dtype`.

    The standard LSTM with a small batch runs batch-major (see gemm_block); everything else
    runs feature-major: a state is (features, batch) and a step's gates are W_hh @ h, a
    (4H, B) product, which OpenBLAS runs faster than h @ W_hh.T when it has to repack W_hh
    (docs/PERFORMANCE.md); the gate blocks are then contiguous rows.
    `packed` is pack_weights(config, params, dtype, batch=...), when the caller has made it.
    """
    check_inputs(config, x, params, h0, c0, lengths)
    if packed is None:
        packed = pack_weights(config, params, dtype, batch=batch_size(config, x))
    if packed.block:
        y, cells, h_n, c_n = run_layers_blocked(config, packed, x, h0, c0, lengths, dtype)
    else:
        T, layer_in, h_n, c_n, mask = feature_major_inputs(config, x, h0, c0, lengths, dtype)
        y, cells, _, _ = run_layers(config, packed, T, layer_in, h_n, c_n, mask, packed.fast)
        # batch-major views: (T, B, F) and (L·D, B, F)
        y, cells, h_n, c_n = y.transpose(0, 2, 1), cells.transpose(0, 2, 1), h_n.transpose(0, 2, 1), c_n.transpose(0, 2, 1)
    return {"y": caller_layout(config, y), "c": caller_layout(config, cells),
            "h_n": caller_layout(config, h_n, True), "c_n": caller_layout(config, c_n, True)}
