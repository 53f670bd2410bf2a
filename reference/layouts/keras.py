"""Keras LSTM layout <-> canonical, for one cell (one layer, one direction).

Facts (keras/src/layers/rnn/lstm.py, LSTMCell.build and call, Keras 3):
  kernel            (input_dim, 4·units)   z = inputs @ kernel + h @ recurrent_kernel + bias
  recurrent_kernel  (units, 4·units)
  bias              (4·units,)              only when use_bias=True
Gate blocks along the last axis are in order i, f, c, o (c is the cell input, our g): the
canonical blocks transposed, kernel = weight_ihᵀ and recurrent_kernel = weight_hhᵀ. States
are [h, c] (h first). No projection, no peepholes. A stacked or Bidirectional Keras model is
one such cell per layer and direction (see cells.cell_params / cells.suffixed).

Keras has one bias where PyTorch has two, and only their sum reaches the gates. So
canonical -> Keras keeps exactly b_ih + b_hh and loses the split; Keras -> canonical puts the
whole bias in `bias_ih` and zeros in `bias_hh`, which computes the same function.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .fused import from_fused, to_fused

CONVENTION = "Keras LSTM"
NAMES = ("kernel", "recurrent_kernel", "bias")


def to_keras(cell: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{"kernel", "recurrent_kernel"[, "bias"]} from a canonical cell."""
    return to_fused(cell, CONVENTION, NAMES)


def from_keras(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A canonical cell from Keras weights: bias_ih = Keras bias, bias_hh = zeros."""
    return from_fused(weights, CONVENTION, NAMES)
