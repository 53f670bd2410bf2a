"""The golden reference: LSTM forward pass in float64, a plain loop over time.

Reads like SPEC.md. Per layer and direction, with z the pre-activations of the four gate
blocks (order i, f, g, o), c the cell state and h the (projected) hidden state:

    z  = W_ih x_t + b_ih + W_hh h + b_hh
    i  = σ(z_i + p_i ⊙ c)          f = σ(z_f + p_f ⊙ c + forget_bias)   (or f = 1 − i)
    g  = φ(z_g)                     c' = f ⊙ c + i ⊙ g
    o  = σ(z_o + p_o ⊙ c')          h' = o ⊙ ψ(c')   then   h' = W_hr h'  (projection)

Rows past their length keep their state and output zeros. No torch here, on purpose.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..spec.model import LSTMConfig, direction_suffix, input_shape, parameter_shapes, state_shapes
from . import activations


@dataclass
class ForwardResult:
    y: np.ndarray  # (T, B, D·P_or_H), or the batch_first / unbatched layout of the input
    h_n: np.ndarray  # (L·D, B, P_or_H), or (L·D, P_or_H) unbatched
    c_n: np.ndarray  # (L·D, B, H)
    c: np.ndarray  # per-step cell states of the last layer, laid out like y with H units per direction

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"y": self.y, "h_n": self.h_n, "c_n": self.c_n, "c": self.c}


def validate_problem(config: LSTMConfig, x, params, h0=None, c0=None, lengths=None) -> None:
    """Raise ValueError for inputs the spec rejects (SPEC.md, 'Error conditions')."""
    if config.proj_size and config.proj_size >= config.hidden_size:
        raise ValueError(f"proj_size {config.proj_size} must be smaller than hidden_size {config.hidden_size}")
    if config.proj_size < 0 or config.hidden_size < 1 or config.input_size < 1 or config.num_layers < 1:
        raise ValueError("sizes must be positive (proj_size may be 0)")
    if x.ndim != (2 if config.unbatched else 3):
        raise ValueError(f"x must have {2 if config.unbatched else 3} dimensions, got shape {x.shape}")
    seq_len = x.shape[1] if (config.batch_first and not config.unbatched) else x.shape[0]
    batch = 1 if config.unbatched else (x.shape[0] if config.batch_first else x.shape[1])
    if seq_len == 0:
        raise ValueError("sequence length T must be at least 1")
    expected_x = input_shape(config, seq_len, batch)
    if x.shape != expected_x:
        raise ValueError(f"x has shape {x.shape}, expected {expected_x}")
    for name, shape in parameter_shapes(config).items():
        if name not in params:
            raise ValueError(f"missing parameter {name} of shape {shape}")
        if params[name].shape != shape:
            raise ValueError(f"parameter {name} has shape {params[name].shape}, expected {shape}")
    for name, value in (("h0", h0), ("c0", c0)):
        expected = state_shapes(config, batch)[name]
        if value is not None and value.shape != expected:
            raise ValueError(f"{name} has shape {value.shape}, expected {expected}")
    if lengths is not None:
        lengths = np.asarray(lengths)
        if lengths.shape != (batch,):
            raise ValueError(f"lengths has shape {lengths.shape}, expected ({batch},)")
        if batch and (lengths.min() < 1 or lengths.max() > seq_len):
            raise ValueError(f"lengths must lie in 1..{seq_len}, got {lengths.tolist()}")


def lstm_forward(config: LSTMConfig, x, params, h0=None, c0=None, lengths=None) -> ForwardResult:
    """Run the LSTM described by `config` on `x` with canonical `params`, all in float64."""
    x = np.asarray(x, dtype=np.float64)
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    validate_problem(config, x, params, h0, c0, lengths)

    # Work in the (T, B, features) layout; convert back at the end.
    if config.unbatched:
        x = x[:, None, :]
        h0 = None if h0 is None else np.asarray(h0, np.float64)[:, None, :]
        c0 = None if c0 is None else np.asarray(c0, np.float64)[:, None, :]
    elif config.batch_first:
        x = x.transpose(1, 0, 2)
    T, B, _ = x.shape
    H, P, D = config.hidden_size, config.output_size, config.num_directions
    h0 = np.zeros((config.num_layers * D, B, P)) if h0 is None else np.asarray(h0, np.float64)
    c0 = np.zeros((config.num_layers * D, B, H)) if c0 is None else np.asarray(c0, np.float64)
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)

    layer_input = x
    h_n, c_n = [], []
    for layer in range(config.num_layers):
        outputs, cells = [], []
        for direction in range(D):
            sfx = f"_l{layer}{direction_suffix(direction)}"
            index = layer * D + direction
            y_dir, c_dir, h_last, c_last = run_direction(
                config, layer_input, {k[: -len(sfx)]: v for k, v in params.items() if k.endswith(sfx)},
                h0[index], c0[index], lengths, reverse=bool(direction))
            outputs.append(y_dir)
            cells.append(c_dir)
            h_n.append(h_last)
            c_n.append(c_last)
        layer_input = np.concatenate(outputs, axis=2)
    y, c = layer_input, np.concatenate(cells, axis=2)
    h_n, c_n = np.stack(h_n), np.stack(c_n)

    if config.unbatched:
        y, c, h_n, c_n = y[:, 0], c[:, 0], h_n[:, 0], c_n[:, 0]
    elif config.batch_first:
        y, c = y.transpose(1, 0, 2), c.transpose(1, 0, 2)
    return ForwardResult(y=y, h_n=h_n, c_n=c_n, c=c)


def run_direction(config: LSTMConfig, x, p, h, c, lengths, reverse: bool):
    """One layer, one direction. `p` holds this direction's parameters without the suffix
    (weight_ih, weight_hh, bias_ih, ...). Returns y (T, B, P), the cell states (T, B, H),
    and the final h and c."""
    T, B, _ = x.shape
    H = config.hidden_size
    sigma, phi, psi = (config.activation(r) for r in ("gate", "cell", "hidden"))
    y = np.zeros((T, B, config.output_size))
    cells = np.zeros((T, B, H))
    steps = range(T - 1, -1, -1) if reverse else range(T)
    for t in steps:
        # Rows whose sequence has ended keep their state. In reverse, a row starts at its last
        # valid step because nothing changes its state before that.
        active = (t < lengths)[:, None]
        z = x[t] @ p["weight_ih"].T + h @ p["weight_hh"].T
        if config.bias:
            z = z + p["bias_ih"] + p["bias_hh"]
        z_i, z_f, z_g, z_o = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
        if config.peepholes:
            z_i = z_i + p["peephole"][0] * c
            z_f = z_f + p["peephole"][1] * c
        z_f = z_f + config.forget_bias
        i = activations.apply(sigma, clip(config, z_i))
        f = 1.0 - i if config.input_forget else activations.apply(sigma, clip(config, z_f))
        g = activations.apply(phi, clip(config, z_g))
        c_new = f * c + i * g
        if config.peepholes:
            z_o = z_o + p["peephole"][2] * c_new
        o = activations.apply(sigma, clip(config, z_o))
        h_new = o * activations.apply(psi, c_new)
        if config.proj_size:
            h_new = h_new @ p["weight_hr"].T
        h = np.where(active, h_new, h)
        c = np.where(active, c_new, c)
        y[t] = np.where(active, h_new, 0.0)
        cells[t] = np.where(active, c_new, 0.0)
    return y, cells, h, c


def clip(config: LSTMConfig, z: np.ndarray) -> np.ndarray:
    """ONNX's cell clip: bound the input of an activation to [-clip, clip]."""
    if config.cell_clip is None:
        return z
    return np.clip(z, -config.cell_clip, config.cell_clip)


def rejects(config: LSTMConfig, x, params, h0=None, c0=None, lengths=None) -> Optional[str]:
    """The reason the spec rejects these inputs, or None when they are valid."""
    try:
        validate_problem(config, np.asarray(x), params, h0, c0, lengths)
    except ValueError as err:
        return str(err)
    return None
