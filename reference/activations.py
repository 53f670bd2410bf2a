"""Activation functions of the spec, in float64, each with its derivative.

Names follow ONNX's LSTM activation list (snake_case) plus identity. Defaults for alpha and
beta are ONNX's: LeakyRelu alpha 0.01, ThresholdedRelu alpha 1.0, HardSigmoid 0.2 / 0.5,
Elu alpha 1.0, Affine 1.0 / 0.0; ScaledTanh has no default and needs both.
"""
from __future__ import annotations

import numpy as np

from ..spec.model import Activation

DEFAULTS = {
    "leaky_relu": (0.01, None),
    "thresholded_relu": (1.0, None),
    "hard_sigmoid": (0.2, 0.5),
    "elu": (1.0, None),
    "affine": (1.0, 0.0),
}


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function that never overflows: exp is only taken of -|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _params(act: Activation) -> tuple[float, float]:
    alpha, beta = DEFAULTS.get(act.name, (None, None))
    alpha = act.alpha if act.alpha is not None else alpha
    beta = act.beta if act.beta is not None else beta
    if act.name == "scaled_tanh" and (alpha is None or beta is None):
        raise ValueError("activation scaled_tanh needs both alpha and beta")
    return alpha, beta


def apply(act: Activation, z: np.ndarray) -> np.ndarray:
    """act(z), elementwise, in float64."""
    a, b = _params(act)
    name = act.name
    if name == "identity":
        return z.copy()
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return sigmoid(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "hard_sigmoid":
        return np.clip(a * z + b, 0.0, 1.0)
    if name == "affine":
        return a * z + b
    if name == "leaky_relu":
        return np.where(z >= 0, z, a * z)
    if name == "thresholded_relu":
        return np.where(z > a, z, 0.0)
    if name == "scaled_tanh":
        return a * np.tanh(b * z)
    if name == "elu":
        return np.where(z >= 0, z, a * np.expm1(np.minimum(z, 0.0)))
    if name == "softsign":
        return z / (1.0 + np.abs(z))
    if name == "softplus":
        return softplus(z)
    raise ValueError(f"unknown activation {name!r}; known: {', '.join(NAMES)}")


def derivative(act: Activation, z: np.ndarray) -> np.ndarray:
    """d act(z) / dz at z, elementwise. At kinks the right-hand derivative is used."""
    a, b = _params(act)
    name = act.name
    if name == "identity":
        return np.ones_like(z)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if name == "sigmoid":
        s = sigmoid(z)
        return s * (1.0 - s)
    if name == "relu":
        return (z >= 0).astype(np.float64)
    if name == "hard_sigmoid":
        u = a * z + b
        return np.where((u > 0.0) & (u < 1.0), a, 0.0)
    if name == "affine":
        return np.full_like(z, a)
    if name == "leaky_relu":
        return np.where(z >= 0, 1.0, a)
    if name == "thresholded_relu":
        return np.where(z > a, 1.0, 0.0)
    if name == "scaled_tanh":
        return a * b * (1.0 - np.tanh(b * z) ** 2)
    if name == "elu":
        return np.where(z >= 0, 1.0, a * np.exp(np.minimum(z, 0.0)))
    if name == "softsign":
        return 1.0 / (1.0 + np.abs(z)) ** 2
    if name == "softplus":
        return sigmoid(z)
    raise ValueError(f"unknown activation {name!r}; known: {', '.join(NAMES)}")


NAMES = ("identity", "tanh", "sigmoid", "relu", "hard_sigmoid", "affine", "leaky_relu",
         "thresholded_relu", "scaled_tanh", "elu", "softsign", "softplus")
