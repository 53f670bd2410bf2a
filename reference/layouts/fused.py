"""The fused right-multiplied layout shared by Keras and the textbook's vectorised LSTM.

    z = x @ W + h @ U + b        W (I, 4H), U (H, 4H), b (4H,), gate blocks i, f, g, o

W and U are the canonical weight_ih and weight_hh transposed (same block order). The one
bias holds b_ih + b_hh: going to this layout keeps only the sum; coming back puts the sum in
bias_ih and zeros in bias_hh. The callers name the three arrays in their own words.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .cells import check_shape, cell_sizes, fail, reject_extras, require, summed_bias, two_biases


def to_fused(cell: Mapping[str, np.ndarray], convention: str, names: tuple[str, str, str]) -> dict[str, np.ndarray]:
    """{W, U[, b]} under `names` from a canonical cell (no projection, no peepholes)."""
    reject_extras(cell, convention)
    cell_sizes(cell, convention)
    w_name, u_name, b_name = names
    out = {w_name: np.asarray(cell["weight_ih"]).T.copy(), u_name: np.asarray(cell["weight_hh"]).T.copy()}
    bias = summed_bias(cell)
    if bias is not None:
        out[b_name] = bias
    return out


def from_fused(weights: Mapping[str, np.ndarray], convention: str, names: tuple[str, str, str]) -> dict[str, np.ndarray]:
    """A canonical cell from {W, U[, b]}; the bias goes to bias_ih, bias_hh is zeros."""
    w_name, u_name, b_name = names
    unknown = set(weights) - set(names)
    if unknown:
        raise fail(convention, f"unknown arrays {sorted(unknown)}; expected {', '.join(names)}")
    kernel = require(weights, w_name, convention)
    recurrent = require(weights, u_name, convention)
    if recurrent.ndim != 2 or recurrent.shape[1] != 4 * recurrent.shape[0]:
        raise fail(convention, f"{u_name} has shape {recurrent.shape}, expected (H, 4H)")
    hidden = recurrent.shape[0]
    if kernel.ndim != 2:
        raise fail(convention, f"{w_name} has shape {kernel.shape}, expected (I, 4H) with H = {hidden}")
    check_shape(kernel, (kernel.shape[0], 4 * hidden), convention, w_name, f"I, 4H with H = {hidden}")
    cell = {"weight_ih": kernel.T.copy(), "weight_hh": recurrent.T.copy()}
    if b_name in weights:
        bias = np.asarray(weights[b_name])
        check_shape(bias, (4 * hidden,), convention, b_name, f"4H with H = {hidden}")
        cell.update(two_biases(bias, into="ih"))
    return cell
