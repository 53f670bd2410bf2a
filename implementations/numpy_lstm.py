"""`numpy`: an independent, vectorised NumPy LSTM (it does not import the reference), with its
own backward pass. The forward pass is in numpy_lstm_forward.py, the backward pass in
numpy_lstm_training.py; this module is the adapter, and keeps the names other code imports.
"""
from __future__ import annotations

import numpy as np

from ..adapter import FEATURES, Adapter, Capabilities
from .numpy_lstm_forward import (activation, activation_parameters, batch_size, caller_layout,  # noqa: F401
                                 check_inputs, gemm_block, is_standard, lstm_numpy, pack_weights,
                                 run_layers, run_layers_blocked, time_major)
from .numpy_lstm_training import lstm_numpy_gradients


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
            packed = pack_weights(problem.config, params, dtype, batch=batch_size(problem.config, problem.x))
        except (KeyError, ValueError, IndexError):
            packed = None  # lstm_numpy's own input checks report what is wrong, when called
        return lambda: lstm_numpy(problem.config, x, params, h0, c0, problem.lengths, dtype, packed)

    def gradients(self, problem, upstream):
        dtype, x, params, h0, c0 = self._inputs(problem)
        return lstm_numpy_gradients(problem.config, x, params, h0, c0, problem.lengths, upstream, dtype)

    def prepare_training(self, problem):
        """Forward, then backward of sum(y) (see Adapter.prepare_training)."""
        dtype, x, params, h0, c0 = self._inputs(problem)
        y_shape = problem.x.shape[:-1] + (problem.config.num_directions * problem.config.output_size,)
        ones = {"y": np.ones(y_shape, dtype)}
        return lambda: lstm_numpy_gradients(problem.config, x, params, h0, c0, problem.lengths, ones, dtype)
