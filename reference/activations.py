"""Activation functions of the spec, in float64, each with its derivative.

The list and the formulas are ONNX's LSTM operator text ("Activation functions", opsets
7-22), in snake_case, plus identity:

    relu(x)             max(0, x)
    tanh(x)             (1 - e^{-2x}) / (1 + e^{-2x})
    sigmoid(x)          1 / (1 + e^{-x})
    affine(x)           alpha * x + beta
    leaky_relu(x)       x if x >= 0 else alpha * x
    thresholded_relu(x) x if x >= alpha else 0
    scaled_tanh(x)      alpha * tanh(beta * x)
    hard_sigmoid(x)     min(max(alpha * x + beta, 0), 1)
    elu(x)              x if x >= 0 else alpha * (e^x - 1)
    softsign(x)         x / (1 + |x|)
    softplus(x)         log(1 + e^x)
    identity(x)         x

Defaults for alpha and beta: the LSTM text says they "are the same as of corresponding ONNX
operators": LeakyRelu alpha 0.01, ThresholdedRelu alpha 1.0, HardSigmoid 0.2 / 0.5, Elu alpha
1.0, Affine 1.0 / 0.0. ScaledTanh declares both attributes without defaults, so the spec
requires them.

ThresholdedRelu: the LSTM text says `x >= alpha`, the stand-alone ThresholdedRelu operator
says `x > alpha`. The two differ only at x == alpha exactly; the LSTM operator's own text
is the one that defines its activations, so `>=` it is.
"""
from __future__ import annotations

import numpy as np

from ..spec.model import ACTIVATION_DEFAULTS, ACTIVATION_NAMES, Activation

# The spec owns the vocabulary; the reference implements it (every name below has a formula).
NAMES = ACTIVATION_NAMES
DEFAULTS = ACTIVATION_DEFAULTS


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function that never overflows: exp is only taken of -|z|."""
    e = np.exp(-np.abs(z))
    r = 1.0 / (1.0 + e)  # σ(|z|)
    return np.where(z >= 0, r, e * r)  # σ(z) = e^{-|z|} σ(|z|) for z < 0


def softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + e^z) without overflow: max(z, 0) + log1p(e^{-|z|})."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def parameters(act: Activation) -> tuple:
    """(alpha, beta) of `act` with ONNX's defaults filled in; ValueError when unusable."""
    if act.name not in NAMES:
        raise ValueError(f"unknown activation {act.name!r}; known: {', '.join(NAMES)}")
    alpha, beta = DEFAULTS.get(act.name, (None, None))
    alpha = act.alpha if act.alpha is not None else alpha
    beta = act.beta if act.beta is not None else beta
    if act.name == "scaled_tanh" and (alpha is None or beta is None):
        raise ValueError("activation scaled_tanh needs both alpha and beta (ONNX gives no defaults)")
    return alpha, beta


def apply(act: Activation, z: np.ndarray) -> np.ndarray:
    """act(z), elementwise, in float64."""
    name = act.name
    if name == "sigmoid":  # the two of every step first: they take no alpha or beta
        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    a, b = parameters(act)
    if name == "identity":
        return np.array(z, dtype=np.float64, copy=True)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "hard_sigmoid":
        return np.clip(a * z + b, 0.0, 1.0)
    if name == "affine":
        return a * z + b
    if name == "leaky_relu":
        return np.where(z >= 0, z, a * z)
    if name == "thresholded_relu":
        return np.where(z >= a, z, 0.0)
    if name == "scaled_tanh":
        return a * np.tanh(b * z)
    if name == "elu":
        return np.where(z >= 0, z, a * np.expm1(np.minimum(z, 0.0)))
    if name == "softsign":
        return z / (1.0 + np.abs(z))
    assert name == "softplus"
    return softplus(z)


def derivative(act: Activation, z: np.ndarray, value: np.ndarray | None = None) -> np.ndarray:
    """d act(z) / dz at z, elementwise. `value`, when given, is apply(act, z) already computed
    (the backward pass has it from the forward): sigmoid' and tanh' are functions of it, so it
    saves computing them again, with the same numbers. Other activations ignore it.

    At a kink the derivative of the branch the formula above selects is used, with clamps
    counting their bounds as inside (relu'(0) = 1, hard_sigmoid' = alpha where alpha z + beta
    is exactly 0 or 1). At thresholded_relu's jump (z == alpha) it is 1, the right-hand value.
    """
    name = act.name
    if name == "sigmoid":  # the two of every step first: they take no alpha or beta
        s = sigmoid(z) if value is None else value
        return s * (1.0 - s)
    if name == "tanh":
        t = np.tanh(z) if value is None else value
        return 1.0 - t ** 2
    a, b = parameters(act)
    if name == "identity":
        return np.ones_like(z, dtype=np.float64)
    if name == "relu":
        return np.where(z >= 0, 1.0, 0.0)
    if name == "hard_sigmoid":
        u = a * z + b
        return np.where((u >= 0.0) & (u <= 1.0), a, 0.0)
    if name == "affine":
        return np.full_like(z, a, dtype=np.float64)
    if name == "leaky_relu":
        return np.where(z >= 0, 1.0, a)
    if name == "thresholded_relu":
        return np.where(z >= a, 1.0, 0.0)
    if name == "scaled_tanh":
        return a * b * (1.0 - np.tanh(b * z) ** 2)
    if name == "elu":
        return np.where(z >= 0, 1.0, a * np.exp(np.minimum(z, 0.0)))
    if name == "softsign":
        return 1.0 / (1.0 + np.abs(z)) ** 2
    assert name == "softplus"
    return sigmoid(z)
