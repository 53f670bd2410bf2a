"""The golden reference: LSTM forward pass in float64, a plain loop over time.

Reads like SPEC.md. Per layer and direction, with a the pre-activations of the four gate
blocks (order i, f, g, o), c the cell state and h the (projected) hidden state:

    a  = W_ih x_t + b_ih + W_hh h + b_hh
    i  = σ(clip(a_i + p_i ⊙ c))
    f  = σ(clip(a_f + p_f ⊙ c + forget_bias))        (f = 1 − i with input_forget)
    g  = φ(clip(a_g))
    c' = f ⊙ c + i ⊙ g
    o  = σ(clip(a_o + p_o ⊙ c'))
    h' = o ⊙ ψ(clip(c'))        then  h' = W_hr h'  with projection

clip is the identity unless cell_clip is set. Rows past their length keep their state and
output zeros (padding: carry: the previous step's output). TF/TFLite options (SPEC §2):
state_clip clips c' itself after the update, proj_clip clips W_hr r, and layer_norm replaces
each block's a_k by normalise(a_k − b_k) ⊙ γ_k + b_k. No torch here, on purpose.

Cell clip, decided from ONNX's LSTM text (attribute `clip`, opsets 7-22): "Cell clip
threshold. Clipping bounds the elements of a tensor in the range of [-threshold, +threshold]
and is applied to the input of activations." The activations of the operator are f, g and h
(here σ, φ, ψ), so the bound applies to every activation input: the four gate
pre-activations (after peepholes and forget_bias are added: they are part of the input) and
the cell state as ψ sees it. The text clips inputs of activations, not the state, so the
carried state c' (and c_n, and the per-step c output) stays unclipped.
Secondary evidence, not normative: onnxruntime's CPU LSTM (uni_directional_lstm.cc) and
OpenVINO's decomposition clip only the four gate pre-activations and pass c' to h
unclipped; onnxruntime issue #27224 reports exactly this as a deviation from the ONNX text
(PR #27239 proposes clipping c' before h). ONNX's own reference (op_lstm.py) ignores clip.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..spec.model import (ACTIVATION_ROLES, LAYER_NORM_EPSILON, LSTMConfig, direction_suffix, input_shape,
                          parameter_shapes, state_shapes)
from . import activations


@dataclass
class ForwardResult:
    y: np.ndarray  # (T, B, D·P_or_H), or the batch_first / unbatched layout of the input
    h_n: np.ndarray  # (L·D, B, P_or_H), or (L·D, P_or_H) unbatched
    c_n: np.ndarray  # (L·D, B, H)
    c: np.ndarray  # per-step cell states of the last layer, laid out like y with H units per direction
    # with keep_steps: steps[layer][direction], the Step records, for lstm_backward to reuse
    steps: Optional[list] = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"y": self.y, "h_n": self.h_n, "c_n": self.c_n, "c": self.c}


@dataclass(slots=True)
class Step:
    """What one time step of one layer and direction computes (kept for the backward pass).
    Arrays are (B, ·); `a_*` are the activation inputs before clipping."""

    x: np.ndarray  # the layer's input at this step
    h: np.ndarray  # state entering the step
    c: np.ndarray
    a_i: np.ndarray
    a_f: np.ndarray
    a_g: np.ndarray
    a_o: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c_new: np.ndarray  # c' = f ⊙ c + i ⊙ g, unclipped
    psi: np.ndarray  # ψ(clip(c'))
    r: np.ndarray  # o ⊙ ψ(clip(c')), before the projection
    h_new: np.ndarray  # r, or W_hr r with projection
    active: np.ndarray  # (B, 1) bool: rows whose sequence includes this step
    c_raw: Optional[np.ndarray] = None  # f ⊙ c + i ⊙ g before state_clip (None: no state_clip)
    h_raw: Optional[np.ndarray] = None  # W_hr r before proj_clip (None: no proj_clip)
    # layer_norm: each gate block's input before normalisation (W_ih x + W_hh h + peephole term),
    # (B, 4H) in blocks i, f, g, o, and the normalised values n (a = n ⊙ γ + b)
    ln_in: Optional[np.ndarray] = None
    ln_out: Optional[np.ndarray] = None


# ----------------------------------------------------------------------------- validation

def validate_config(config: LSTMConfig) -> None:
    """Raise ValueError for a configuration the spec rejects."""
    for name in ("input_size", "hidden_size", "num_layers"):
        value = getattr(config, name)
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not isinstance(config.proj_size, (int, np.integer)) or config.proj_size < 0:
        raise ValueError(f"proj_size must be a non-negative integer (0: no projection), got {config.proj_size!r}")
    if config.proj_size and config.proj_size >= config.hidden_size:
        raise ValueError(f"proj_size {config.proj_size} must be smaller than hidden_size {config.hidden_size}")
    if config.cell_clip is not None and not (np.isfinite(config.cell_clip) and config.cell_clip > 0):
        raise ValueError(f"cell_clip must be a positive finite number or None, got {config.cell_clip!r}")
    for name in ("state_clip", "proj_clip"):
        value = getattr(config, name)
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number or None, got {value!r}")
    if config.proj_clip is not None and not config.proj_size:
        raise ValueError("proj_clip needs a projection (proj_size > 0)")
    if config.batch_first and config.unbatched:
        raise ValueError("batch_first and unbatched exclude each other (an unbatched x is (T, I))")
    if len(config.activations) != len(ACTIVATION_ROLES):
        raise ValueError(f"activations must give one activation per role {ACTIVATION_ROLES}, "
                         f"got {config.activations!r}")
    for direction in range(config.num_directions):
        for role in ACTIVATION_ROLES:
            try:
                activations.parameters(config.activation(role, direction))
            except ValueError as err:
                where = " of the reverse direction" if direction else ""
                raise ValueError(f"{role} activation{where}: {err}") from None


def validate_problem(config: LSTMConfig, x, params, h0=None, c0=None, lengths=None) -> None:
    """Raise ValueError for inputs the spec rejects (SPEC.md, 'Error conditions').
    A batch of 0 rows is valid: the outputs are empty arrays of the right shapes."""
    validate_config(config)
    x = np.asarray(x)
    if x.ndim != (2 if config.unbatched else 3):
        layout = "(T, I) unbatched" if config.unbatched else ("(B, T, I)" if config.batch_first else "(T, B, I)")
        raise ValueError(f"x must have {2 if config.unbatched else 3} dimensions {layout}, got shape {x.shape}")
    seq_len = x.shape[1] if (config.batch_first and not config.unbatched) else x.shape[0]
    batch = 1 if config.unbatched else (x.shape[0] if config.batch_first else x.shape[1])
    if seq_len == 0:
        raise ValueError(f"sequence length T must be at least 1, got x of shape {x.shape}")
    expected_x = input_shape(config, seq_len, batch)
    if x.shape != expected_x:
        raise ValueError(f"x has shape {x.shape}, expected {expected_x} (input_size {config.input_size})")
    shapes = parameter_shapes(config)
    for name, shape in shapes.items():
        if name not in params:
            raise ValueError(f"missing parameter {name} of shape {shape}")
        if np.shape(params[name]) != shape:
            raise ValueError(f"parameter {name} has shape {np.shape(params[name])}, expected {shape}")
    unexpected = sorted(set(params) - set(shapes))
    if unexpected:
        raise ValueError(f"unexpected parameters {unexpected} for this configuration; expected {sorted(shapes)}")
    for name, value in (("h0", h0), ("c0", c0)):
        expected = state_shapes(config, batch)[name]
        if value is not None and np.shape(value) != expected:
            raise ValueError(f"{name} has shape {np.shape(value)}, expected {expected}")
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (batch,):
            raise ValueError(f"lengths has shape {lengths.shape}, expected ({batch},): one length per batch row")
        if batch and not np.all(np.equal(np.mod(lengths, 1), 0)):
            raise ValueError(f"lengths must be whole numbers, got {lengths.tolist()}")
        if batch and (lengths.min() < 1 or lengths.max() > seq_len):
            raise ValueError(f"lengths must lie in 1..{seq_len} (T), got {lengths.tolist()}")


def rejects(config: LSTMConfig, x, params, h0=None, c0=None, lengths=None) -> Optional[str]:
    """The reason the spec rejects these inputs, or None when they are valid."""
    try:
        validate_problem(config, np.asarray(x), params, h0, c0, lengths)
    except ValueError as err:
        return str(err)
    return None


# ----------------------------------------------------------------------------- layouts

def to_time_major(config: LSTMConfig, sequence: np.ndarray) -> np.ndarray:
    """A (T, B, F) float64 view of an array laid out like x or y in `config`'s layout."""
    sequence = np.asarray(sequence, dtype=np.float64)
    if config.unbatched:
        return sequence[:, None, :]
    return sequence.transpose(1, 0, 2) if config.batch_first else sequence


def from_time_major(config: LSTMConfig, sequence: np.ndarray) -> np.ndarray:
    """The inverse of to_time_major."""
    if config.unbatched:
        return sequence[:, 0]
    return sequence.transpose(1, 0, 2) if config.batch_first else sequence


def state_to_batched(config: LSTMConfig, state) -> Optional[np.ndarray]:
    """A (L·D, B, F) float64 array from a state in `config`'s layout (None stays None)."""
    if state is None:
        return None
    state = np.asarray(state, dtype=np.float64)
    return state[:, None, :] if config.unbatched else state


def state_from_batched(config: LSTMConfig, state: np.ndarray) -> np.ndarray:
    return state[:, 0] if config.unbatched else state


PARAMETER_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr", "peephole", "layer_norm")


def direction_parameters(params: dict, layer: int, direction: int) -> dict:
    """One layer's and direction's parameters, without the suffix (weight_ih, bias_hh, ...)."""
    sfx = f"_l{layer}{direction_suffix(direction)}"
    return {kind: np.asarray(params[kind + sfx], dtype=np.float64) for kind in PARAMETER_KINDS if kind + sfx in params}


# ----------------------------------------------------------------------------- the forward pass

def lstm_forward(config: LSTMConfig, x, params, h0=None, c0=None, lengths=None,
                 keep_steps: bool = False) -> ForwardResult:
    """Run the LSTM described by `config` on `x` with canonical `params`, all in float64.
    keep_steps: keep the Step records too (result.steps), for lstm_backward(forward=...)."""
    validate_problem(config, x, params, h0, c0, lengths)
    y, cells, h_n, c_n, steps = run_stack(config, to_time_major(config, x), params, state_to_batched(config, h0),
                                          state_to_batched(config, c0), lengths, keep_steps=keep_steps)
    return ForwardResult(y=from_time_major(config, y), h_n=state_from_batched(config, h_n),
                         c_n=state_from_batched(config, c_n), c=from_time_major(config, cells),
                         steps=steps if keep_steps else None)


@dataclass(frozen=True)
class StepHooks:
    """Changes to the loop that model a defective implementation (the diagnosis uses them, so
    that a defect differs from the reference in that one place and nowhere else)."""

    new_state: Optional[Callable] = None  # (config, p, step) -> (h', c') in place of the step's own
    carry: Optional[Callable] = None  # (h, c) -> (h, c) handed to the next step
    step_config: Optional[LSTMConfig] = None  # the configuration each step computes with


def run_stack(config: LSTMConfig, x, params, h0, c0, lengths, keep_steps: bool = False,
              hooks: Optional[StepHooks] = None):
    """All layers and directions on a (T, B, I) input. Returns y (T, B, D·P), the last layer's
    cell states (T, B, D·H), h_n, c_n, and, with keep_steps, steps[layer][direction]: the
    Step records in the order they were computed. `hooks`: see StepHooks."""
    T, B, _ = x.shape
    H, P, D = config.hidden_size, config.output_size, config.num_directions
    h0 = np.zeros((config.num_layers * D, B, P)) if h0 is None else h0
    c0 = np.zeros((config.num_layers * D, B, H)) if c0 is None else c0
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)

    layer_input = x
    h_n, c_n, steps = [], [], []
    for layer in range(config.num_layers):
        outputs, cells, layer_steps = [], [], []
        for direction in range(D):
            index = layer * D + direction
            y_dir, c_dir, h_last, c_last, dir_steps = run_direction(
                config, layer_input, direction_parameters(params, layer, direction),
                h0[index], c0[index], lengths, reverse=config.runs_reverse(direction), keep_steps=keep_steps,
                direction=direction, hooks=hooks)
            outputs.append(y_dir)
            cells.append(c_dir)
            h_n.append(h_last)
            c_n.append(c_last)
            layer_steps.append(dir_steps)
        layer_input = np.concatenate(outputs, axis=2)
        steps.append(layer_steps)
    return layer_input, np.concatenate(cells, axis=2), np.array(h_n), np.array(c_n), steps


def run_direction(config: LSTMConfig, x, p, h, c, lengths, reverse: bool, keep_steps: bool = False,
                  direction: int = 0, hooks: Optional[StepHooks] = None):
    """One layer, one direction (index `direction`: 1 is the `_reverse` one of a bidirectional
    LSTM, with its own activations). `p` holds this direction's parameters without the suffix.
    Returns y (T, B, P), the cell states (T, B, H), the final h and c, and the Step records."""
    T, B, _ = x.shape
    y = np.zeros((T, B, config.output_size))
    cells = np.zeros((T, B, config.hidden_size))
    steps = []
    # The input's share of the pre-activations and the biases do not depend on the state: one
    # product for all steps (the same sum as in lstm_step, only evaluated earlier).
    # As a 2-D product: one GEMM rather than T of them.
    # With layer_norm the biases are added after the normalisation (lstm_step).
    x_proj = (x.reshape(T * B, x.shape[2]) @ p["weight_ih"].T).reshape(T, B, 4 * config.hidden_size)
    if config.bias and not config.layer_norm:
        x_proj += p["bias_ih"] + p["bias_hh"]
    # (T, B, 1): whether step t lies within row b's sequence
    active_at = (np.arange(T)[:, None] < lengths)[:, :, None]
    every_row_runs = bool(active_at.all()) and hooks is None
    # padding: carry (SPEC §7, Keras masking): a step past a row's length outputs the previous
    # step's output of this direction (zero before any); padding: zeros outputs zero
    carried_y, carried_c = np.zeros((B, config.output_size)), np.zeros((B, config.hidden_size))
    carry = config.padding == "carry"
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        # Rows whose sequence has ended keep their state. In reverse, a row starts at its last
        # valid step because nothing changes its state before that.
        active = active_at[t]
        if hooks is None:
            step = lstm_step(config, p, x[t], h, c, active, x_proj=x_proj[t], direction=direction)
            h_new, c_new = step.h_new, step.c_new
        else:  # a modelled defect: the step computes on its own (x_proj follows step_config)
            step = lstm_step(hooks.step_config or config, p, x[t], h, c, active, direction=direction)
            h_new, c_new = hooks.new_state(config, p, step) if hooks.new_state else (step.h_new, step.c_new)
        if every_row_runs:  # the same as the masked update below, without its cost
            h, c, y[t], cells[t] = h_new, c_new, h_new, c_new
        else:
            h, c = np.where(active, h_new, h), np.where(active, c_new, c)
            if hooks is not None and hooks.carry:
                h, c = hooks.carry(h, c)
            y[t] = np.where(active, h_new, carried_y if carry else 0.0)
            cells[t] = np.where(active, c_new, carried_c if carry else 0.0)
            if carry:
                carried_y, carried_c = y[t], cells[t]
        if keep_steps:
            steps.append(step)
    return y, cells, h, c, steps


def lstm_step(config: LSTMConfig, p: dict, x, h, c, active, x_proj=None, direction: int = 0) -> Step:
    """One time step for all rows (the caller applies `active`). `x_proj`, when given, is
    W_ih x + b_ih + b_hh computed beforehand. `direction` picks the activations (SPEC §4:
    the reverse direction of a bidirectional LSTM may have its own)."""
    H = config.hidden_size
    sigma, phi, psi = config.direction_activations(direction)
    if x_proj is None:
        x_proj = x @ p["weight_ih"].T
        if config.bias and not config.layer_norm:
            x_proj = x_proj + p["bias_ih"] + p["bias_hh"]
    a = x_proj + h @ p["weight_hh"].T
    a_i, a_f, a_g, a_o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
    if config.peepholes:
        a_i = a_i + p["peephole"][0] * c
        a_f = a_f + p["peephole"][1] * c
    ln_in = ln_out = None
    if config.layer_norm:  # TFLite: normalise, times the coefficients, then the bias (SPEC §2)
        ln_in, ln_out = np.empty((a.shape[0], 4 * H)), np.empty((a.shape[0], 4 * H))
        a_i, a_f, a_g = (_layer_norm(config, p, k, z, ln_in, ln_out) for k, z in enumerate((a_i, a_f, a_g)))
    if config.forget_bias:
        a_f = a_f + config.forget_bias
    i = activations.apply(sigma, clip(config, a_i))
    f = 1.0 - i if config.input_forget else activations.apply(sigma, clip(config, a_f))
    g = activations.apply(phi, clip(config, a_g))
    c_new = c_raw = f * c + i * g
    if config.state_clip is not None:  # TF1 cell_clip: the state itself (SPEC §2)
        c_new = np.clip(c_raw, -config.state_clip, config.state_clip)
    if config.peepholes:  # o sees c' (ONNX), or the state entering the step (WebNN): SPEC §2
        a_o = a_o + p["peephole"][2] * (c if config.peephole_output_state == "previous" else c_new)
    if config.layer_norm:
        a_o = _layer_norm(config, p, 3, a_o, ln_in, ln_out)
    o = activations.apply(sigma, clip(config, a_o))
    psi_c = activations.apply(psi, clip(config, c_new))
    r = o * psi_c
    h_new = h_raw = r @ p["weight_hr"].T if config.proj_size else r
    if config.proj_clip is not None:  # TF1 / TFLite proj_clip (SPEC §2)
        h_new = np.clip(h_raw, -config.proj_clip, config.proj_clip)
    return Step(x=x, h=h, c=c, a_i=a_i, a_f=a_f, a_g=a_g, a_o=a_o, i=i, f=f, g=g, o=o,
                c_new=c_new, psi=psi_c, r=r, h_new=h_new, active=active,
                c_raw=c_raw if config.state_clip is not None else None,
                h_raw=h_raw if config.proj_clip is not None else None, ln_in=ln_in, ln_out=ln_out)


def normalise(z: np.ndarray) -> np.ndarray:
    """TFLite's MeanStddevNormalization over the last axis (the H units of one gate block, per
    batch row): (z − mean) / sqrt(variance + 1e-8), variance the mean squared deviation."""
    # np.add.reduce / n is np.mean's own arithmetic, without its Python wrapper (a hot path)
    n = z.shape[-1]
    centred = z - np.add.reduce(z, axis=-1, keepdims=True) / n
    return centred / np.sqrt(np.add.reduce(centred ** 2, axis=-1, keepdims=True) / n + LAYER_NORM_EPSILON)


def _layer_norm(config: LSTMConfig, p: dict, k: int, z: np.ndarray, ln_in, ln_out) -> np.ndarray:
    """Gate block k's pre-activation with layer_norm: normalise(z) ⊙ γ_k + b_k (b_k the block's
    bias_ih + bias_hh). Records z and normalise(z) in ln_in / ln_out for the backward pass."""
    H = config.hidden_size
    n = normalise(z)
    ln_in[:, k * H:(k + 1) * H], ln_out[:, k * H:(k + 1) * H] = z, n
    a = n * p["layer_norm"][k]
    if config.bias:
        a = a + p["bias_ih"][k * H:(k + 1) * H] + p["bias_hh"][k * H:(k + 1) * H]
    return a


def clip(config: LSTMConfig, z: np.ndarray) -> np.ndarray:
    """ONNX's cell clip: bound the input of an activation to [-clip, clip]."""
    if config.cell_clip is None:
        return z
    # np.clip's arithmetic (max with the lower bound, then min with the upper), without its wrapper
    return np.minimum(np.maximum(z, -config.cell_clip), config.cell_clip)


def clip_passes(config: LSTMConfig, z: np.ndarray) -> np.ndarray | float:
    """d clip(z) / dz: 1 where the bound leaves z unchanged (bounds included), else 0; without a
    clip the scalar 1 (no array of ones to build and multiply on every step)."""
    if config.cell_clip is None:
        return 1.0
    return (np.abs(z) <= config.cell_clip).astype(np.float64)
