"""Converters between the canonical (PyTorch) parameter layout and other conventions.

One module per convention, each with `to_X` / `from_X` and a docstring stating the facts it
relies on and where they come from:
  keras     Keras LSTM: kernel, recurrent_kernel, one summed bias; gates i, f, c, o
  onnx      ONNX LSTM node: W, R, B = [Wb, Rb], P; gates i, o, f, c; peepholes i, o, f
  tf_block  TensorFlow BlockLSTMV2 / BlockLSTM: one kernel on [x, h], gates i, f, c, o or i, c, f, o
  tflite    TFLite LSTM op: per-gate tensors, gate biases, peepholes, projection, layer-norm
            coefficients (input, forget, cell, output)
  flax      Flax linen LSTMCell / OptimizedLSTMCell: Dense ii..io (no bias), hi..ho (bias)
  equinox   Equinox eqx.nn.LSTMCell: weight_ih, weight_hh, one bias; gates i, f, g, o
  haiku     Haiku hk.LSTM: one Linear over [x, h], gates i, g, f, o, + 1 on the forget gate
  mlx       MLX mlx.nn.LSTM: Wx, Wh, one bias; gates i, f, g, o (Equinox's layout renamed)
  textbook  the per-gate and vectorised layouts of docs/TEXTBOOK.md §2, §4, §5
Single-cell conventions work on one layer and direction (`cell_params`, `suffixed`).
Pure NumPy: nothing here imports torch, onnx or a framework.
"""
from .cells import LayoutError, all_cells, cell_params, suffixed
from .equinox import from_equinox, to_equinox
from .flax import from_flax, to_flax
from .haiku import from_haiku, to_haiku
from .keras import from_keras, to_keras
from .mlx import from_mlx, to_mlx
from .onnx import from_onnx, to_onnx
from .tf_block import from_tf_block, to_tf_block
from .tflite import from_tflite, to_tflite
from .textbook import (from_per_gate_column, from_per_gate_right, from_vectorised, to_per_gate_column,
                       to_per_gate_right, to_vectorised)

__all__ = [
    "LayoutError", "all_cells", "cell_params", "suffixed",
    "to_keras", "from_keras", "to_onnx", "from_onnx", "to_flax", "from_flax", "to_tflite", "from_tflite",
    "to_tf_block", "from_tf_block",
    "to_equinox", "from_equinox", "to_haiku", "from_haiku", "to_mlx", "from_mlx",
    "to_per_gate_right", "from_per_gate_right", "to_per_gate_column", "from_per_gate_column",
    "to_vectorised", "from_vectorised",
]
