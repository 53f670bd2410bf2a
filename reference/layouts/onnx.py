"""ONNX LSTM layout <-> canonical, one node (= one layer, all its directions) at a time.

Facts (ONNX operator spec, LSTM-7/14/22, inputs and notation sections):
  W  [num_directions, 4·hidden_size, input_size]   "Concatenation of W[iofc] and WB[iofc]"
  R  [num_directions, 4·hidden_size, hidden_size]  R[iofc]
  B  [num_directions, 8·hidden_size]               "[Wb[iofc], Rb[iofc]]"; optional (zeros)
  P  [num_directions, 3·hidden_size]               "P[iof]"; optional (zeros)
  Y  [seq_length, num_directions, batch_size, hidden_size]   (layout = 0)
  Y_h, Y_c, initial_h, initial_c  [num_directions, batch_size, hidden_size]
Gate blocks are in order i, o, f, c (c = cell input, our g); peepholes i, o, f. Direction 0 is
forward, direction 1 (bidirectional) the reverse pass, as in PyTorch's `_reverse`. With the
attribute direction = "reverse" the node has one direction, index 0, run from the last step
down: canonically `direction: reverse`, whose parameters carry no `_reverse` suffix (they are
the layer's only direction); Y[t] is still the output of step t (ONNX: "Y ... [seq_length,
num_directions, batch_size, hidden_size]", not reordered). The
equations are the same as the canonical ones (σ(Xt·Wiᵀ + Ht-1·Riᵀ + Pi⊙Ct-1 + Wbi + Rbi)
...), and both biases are kept, so the conversion is exact both ways. ONNX has no
projection; one node is one layer, so a stack converts layer by layer.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...spec.model import GATE_ORDER as CANONICAL_GATE_ORDER
from ...spec.model import PEEPHOLE_ORDER, Activation
from .cells import cell_params, cell_sizes, check_shape, fail, join_gates, reject_extras, require, suffixed

CONVENTION = "ONNX LSTM"
ONNX_GATE_ORDER = ("i", "o", "f", "g")  # ONNX writes iofc; its c is the canonical g block
ONNX_PEEPHOLE_ORDER = ("i", "o", "f")


ONNX_DIRECTIONS = ("forward", "reverse", "bidirectional")  # the attribute's values, LSTM-7 to 22


def direction_attribute(config) -> str:
    """The node's `direction` attribute for a configuration (the canonical names are ONNX's)."""
    return config.direction


def direction_from_onnx(value) -> str:
    """The canonical `direction` option from the node's attribute (bytes or str)."""
    value = value.decode() if isinstance(value, bytes) else str(value)
    if value not in ONNX_DIRECTIONS:
        raise fail(CONVENTION, f"direction {value!r} is not one of {', '.join(ONNX_DIRECTIONS)}")
    return value


# ----------------------------------------------------------------------------- activations
# Spec activation name -> ONNX activation name (ONNX LSTM text, "Activation functions").
ONNX_ACTIVATIONS = {
    "sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "affine": "Affine", "leaky_relu": "LeakyRelu",
    "thresholded_relu": "ThresholdedRelu", "scaled_tanh": "ScaledTanh", "hard_sigmoid": "HardSigmoid",
    "elu": "Elu", "softsign": "Softsign", "softplus": "Softplus",
    "identity": "Affine",  # with alpha 1, beta 0: the same function
}
FROM_ONNX_ACTIVATIONS = {onnx: spec for spec, onnx in ONNX_ACTIVATIONS.items() if spec != "identity"}
# The ONNX activations that take an alpha / a beta, with ONNX's defaults ("the same as of
# corresponding ONNX operators"; None: the operator has the attribute without a default).
TAKES_ALPHA = {"Affine": 1.0, "LeakyRelu": 0.01, "ThresholdedRelu": 1.0, "ScaledTanh": None,
               "HardSigmoid": 0.2, "Elu": 1.0}
TAKES_BETA = {"Affine": 0.0, "ScaledTanh": None, "HardSigmoid": 0.5}
# How the flat activation_alpha / activation_beta lists map to the activations (SPEC.md §4):
# "consumed" (the spec's reading, onnxruntime's): the k-th value belongs to the k-th activation
# that takes that parameter; "positional" (onnx's reference evaluator for RNN): value k belongs
# to activation k, and is ignored where that activation takes no such parameter.
READINGS = ("consumed", "positional")


def _check_reading(reading: str) -> None:
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {', '.join(READINGS)}, got {reading!r}")


def activations_to_onnx(acts, reading: str = "consumed") -> dict:
    """The node's `activations` and flat `activation_alpha` / `activation_beta` for a sequence
    of Activation (3 per direction, the forward direction's first), in `reading`.

    A value the spec leaves unset is written as ONNX's default where a later value must be
    written, and left out at the end (the default then applies, in either reading)."""
    _check_reading(reading)
    names, lists = [], {"activation_alpha": [], "activation_beta": []}
    for act in acts:
        act = Activation.parse(act)
        name = ONNX_ACTIVATIONS[act.name]
        names.append(name)
        alpha, beta = (1.0, 0.0) if act.name == "identity" else (act.alpha, act.beta)
        for key, value, takes in (("activation_alpha", alpha, TAKES_ALPHA), ("activation_beta", beta, TAKES_BETA)):
            if name in takes:
                if value is None and takes[name] is None:
                    raise ValueError(f"activation {act} needs an explicit {key[11:]} (ONNX gives {name} no default)")
                lists[key].append((value, takes[name], act))
            elif reading == "positional":
                lists[key].append((None, 0.0, act))  # a place holder: this activation reads no value
    attrs = {"activations": names}
    for key, values in lists.items():
        last_set = max((k for k, (value, _, _) in enumerate(values) if value is not None), default=-1)
        written = []
        for value, default, act in values[:last_set + 1]:
            if value is None and default is None:
                raise ValueError(f"activation {act} needs an explicit {key[11:]} (ONNX gives it no default)")
            written.append(float(default if value is None else value))
        if written:
            attrs[key] = written
    return attrs


def activations_from_onnx(names, activation_alpha=None, activation_beta=None, reading: str = "consumed") -> list:
    """The Activation list a node's attributes describe, in `reading` (see READINGS). A value
    the list does not give is ONNX's default (None where ONNX has none)."""
    _check_reading(reading)
    alphas, betas = list(activation_alpha or []), list(activation_beta or [])
    acts, used = [], {"alpha": 0, "beta": 0}
    for position, raw in enumerate(names):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        if name not in FROM_ONNX_ACTIVATIONS:
            raise fail(CONVENTION, f"unknown activation {name!r}; expected one of {', '.join(FROM_ONNX_ACTIVATIONS)}")
        params = {}
        for key, values, takes in (("alpha", alphas, TAKES_ALPHA), ("beta", betas, TAKES_BETA)):
            if reading == "positional":
                index = position
            elif name in takes:
                index, used[key] = used[key], used[key] + 1
            else:
                continue
            if name in takes:
                params[key] = float(values[index]) if index < len(values) else takes[name]
        acts.append(Activation(FROM_ONNX_ACTIVATIONS[name], params.get("alpha"), params.get("beta")))
    return acts


def config_activations(config) -> list:
    """Every direction's (σ, φ, ψ) of a configuration in ONNX's order: the forward direction's
    three, then (bidirectional) the reverse direction's."""
    return [act for d in range(config.num_directions) for act in config.direction_activations(d)]


def _reorder_rows(array: np.ndarray, src: tuple, dst: tuple, axis: int = 0) -> np.ndarray:
    return join_gates(dict(zip(src, np.split(np.asarray(array), len(src), axis=axis))), axis, dst)


def _gates_to_onnx(array: np.ndarray) -> np.ndarray:
    return _reorder_rows(array, CANONICAL_GATE_ORDER, ONNX_GATE_ORDER)


def _gates_from_onnx(array: np.ndarray) -> np.ndarray:
    return _reorder_rows(array, ONNX_GATE_ORDER, CANONICAL_GATE_ORDER)


def layer_directions(params: Mapping[str, np.ndarray], layer: int) -> int:
    """1 or 2: whether the canonical parameters of `layer` have a reverse direction."""
    return 2 if f"weight_ih_l{layer}_reverse" in params else 1


def to_onnx(params: Mapping[str, np.ndarray], layer: int = 0) -> dict[str, np.ndarray]:
    """The node inputs {"W", "R"[, "B"][, "P"]} of one layer of canonical parameters."""
    cells = [cell_params(params, layer, d) for d in range(layer_directions(params, layer))]
    for cell in cells:
        reject_extras(cell, CONVENTION, allowed=("peephole",))
    sizes = {cell_sizes(cell, CONVENTION) for cell in cells}
    if len(sizes) > 1:
        raise fail(CONVENTION, f"layer {layer}: the directions differ in (input_size, hidden_size): {sorted(sizes)}")
    for key in ("bias_ih", "peephole"):
        if len({key in cell for cell in cells}) > 1:
            raise fail(CONVENTION, f"layer {layer}: {key} is present in one direction only")
    tensors = {
        "W": np.stack([_gates_to_onnx(c["weight_ih"]) for c in cells]),
        "R": np.stack([_gates_to_onnx(c["weight_hh"]) for c in cells]),
    }
    if "bias_ih" in cells[0]:
        tensors["B"] = np.stack([np.concatenate([_gates_to_onnx(c["bias_ih"]), _gates_to_onnx(c["bias_hh"])])
                                 for c in cells])
    if "peephole" in cells[0]:
        tensors["P"] = np.stack([_reorder_rows(c["peephole"], PEEPHOLE_ORDER, ONNX_PEEPHOLE_ORDER).reshape(-1)
                                 for c in cells])
    return tensors


def from_onnx(tensors: Mapping[str, np.ndarray], layer: int = 0) -> dict[str, np.ndarray]:
    """Canonical parameters (suffix `_l{layer}`) from one node's W, R and optional B, P.
    A node without B gives no bias arrays (a bias-free configuration), likewise for P."""
    unknown = set(tensors) - {"W", "R", "B", "P"}
    if unknown:
        raise fail(CONVENTION, f"unknown tensors {sorted(unknown)}; expected W, R, B, P")
    w, r = require(tensors, "W", CONVENTION), require(tensors, "R", CONVENTION)
    if r.ndim != 3 or r.shape[1] != 4 * r.shape[2] or r.shape[0] not in (1, 2):
        raise fail(CONVENTION, f"R has shape {r.shape}, expected [num_directions (1 or 2), 4·hidden_size, hidden_size]")
    dirs, hidden = r.shape[0], r.shape[2]
    if w.ndim != 3:
        raise fail(CONVENTION, f"W has shape {w.shape}, expected [{dirs}, {4 * hidden}, input_size]")
    check_shape(w, (dirs, 4 * hidden, w.shape[2]), CONVENTION, "W", "num_directions, 4·hidden_size, input_size")
    b, p = tensors.get("B"), tensors.get("P")
    if b is not None:
        check_shape(np.asarray(b), (dirs, 8 * hidden), CONVENTION, "B", "num_directions, 8·hidden_size = [Wb, Rb]")
    if p is not None:
        check_shape(np.asarray(p), (dirs, 3 * hidden), CONVENTION, "P", "num_directions, 3·hidden_size, order i, o, f")
    params: dict[str, np.ndarray] = {}
    for d in range(dirs):
        cell = {"weight_ih": _gates_from_onnx(w[d]),
                "weight_hh": _gates_from_onnx(r[d])}
        if b is not None:
            wb, rb = np.split(np.asarray(b)[d], 2)
            cell["bias_ih"] = _gates_from_onnx(wb)
            cell["bias_hh"] = _gates_from_onnx(rb)
        if p is not None:
            rows = np.asarray(p)[d].reshape(3, hidden)
            cell["peephole"] = _reorder_rows(rows, ONNX_PEEPHOLE_ORDER, PEEPHOLE_ORDER)
        params.update(suffixed(cell, layer, d))
    return params


def y_to_canonical(y: np.ndarray) -> np.ndarray:
    """ONNX Y [T, D, B, H] -> canonical y (T, B, D·H), directions side by side per step."""
    y = np.asarray(y)
    if y.ndim != 4:
        raise fail(CONVENTION, f"Y has shape {y.shape}, expected [seq_length, num_directions, batch_size, hidden_size]")
    steps, dirs, batch, hidden = y.shape
    return y.transpose(0, 2, 1, 3).reshape(steps, batch, dirs * hidden)


def y_from_canonical(y: np.ndarray, num_directions: int) -> np.ndarray:
    """Canonical y (T, B, D·H) -> ONNX Y [T, D, B, H]."""
    y = np.asarray(y)
    steps, batch, width = y.shape
    if width % num_directions:
        raise fail(CONVENTION, f"y has {width} features, not a multiple of num_directions = {num_directions}")
    return y.reshape(steps, batch, num_directions, width // num_directions).transpose(0, 2, 1, 3)

