"""`torch-cell`: a Python loop of torch.nn.LSTMCell over time, on the CPU."""
from __future__ import annotations

import torch

from ..adapter import Adapter, Capabilities, array_dtype, tensor_keeping_strides
from .torch_lstm import NN_LSTM_LACKS, TORCH_DTYPES, copy_parameters, upstream_loss


class LSTMCellWithoutRandomInit(torch.nn.LSTMCell):
    """nn.LSTMCell whose constructor leaves the parameters uninitialised instead of drawing
    random ones, which the problem's replace at once (as LSTMWithoutRandomInit in torch_lstm.py)."""

    def reset_parameters(self):
        pass


def one_layer_state(name, value, state_shape):
    """The single layer slice of h0/c0; any other shape is rejected, never cut to fit."""
    if value.shape != (1, *state_shape):
        raise ValueError(f"{name} has shape {value.shape}, expected {(1, *state_shape)} for one LSTMCell")
    return value[0]


class TorchCellAdapter(Adapter):
    name = "torch-cell"
    description = "torch.nn.LSTMCell stepped over time in Python"

    def capabilities(self):
        reasons = {k: v.replace("nn.LSTM", "nn.LSTMCell") for k, v in NN_LSTM_LACKS.items()}
        reasons.update({
            "layers": "one nn.LSTMCell is one layer",
            "bidirectional": "one nn.LSTMCell runs one direction",
            "projection": "nn.LSTMCell has no proj_size",
            "variable_lengths": "nn.LSTMCell has no packed sequences",
            "padding_carry": "nn.LSTMCell has no packed sequences, so no padding",
            "reverse": "nn.LSTMCell computes one step; the order of the steps is this adapter's loop, so a reverse "
                       "direction would be the adapter's emulation, not the implementation's feature",
        })
        # float16 and bfloat16: nn.LSTMCell runs them on the CPU too (PyTorch 2.13, measured)
        return Capabilities(dtypes={"float16", "bfloat16", "float32", "float64"},
                            features={"bias", "initial_state", "batch_first", "unbatched"},
                            outputs={"y", "h_n", "c_n", "c"}, gradients=True, mixed_dtypes=True, reasons=reasons)

    def prepare(self, problem):
        cell, x, h0, c0 = self._inputs(problem)

        def run():
            with torch.no_grad():
                return self._loop(problem, cell, x, h0, c0)

        return run

    def _inputs(self, problem):
        """The cell with the problem's parameters, and x, h0, c0 as tensors (states as (B, H))."""
        cfg, dtype = problem.config, TORCH_DTYPES[problem.dtype]
        cell = LSTMCellWithoutRandomInit(cfg.input_size, cfg.hidden_size, bias=cfg.bias, dtype=dtype)
        copy_parameters(cell, problem.params, suffix="_l0")
        x = tensor_keeping_strides(problem.x, TORCH_DTYPES[array_dtype(problem, "x")])
        state_shape = (cfg.hidden_size,) if cfg.unbatched else (problem.batch, cfg.hidden_size)
        states = []
        for name, value in (("h0", problem.h0), ("c0", problem.c0)):
            state_dtype = TORCH_DTYPES[array_dtype(problem, name)]
            states.append(torch.zeros(state_shape, dtype=state_dtype) if value is None
                          else tensor_keeping_strides(one_layer_state(name, value, state_shape), state_dtype))
        return cell, x, states[0], states[1]

    @staticmethod
    def _loop(problem, cell, x, h0, c0):
        cfg = problem.config
        time_axis = cfg.time_axis
        h, c = h0, c0
        ys, cs = [], []
        for x_t in x.unbind(time_axis):
            h, c = cell(x_t, (h, c))
            ys.append(h)
            cs.append(c)
        return {"y": torch.stack(ys, time_axis), "c": torch.stack(cs, time_axis),
                "h_n": h.unsqueeze(0), "c_n": c.unsqueeze(0)}

    def prepare_training(self, problem):
        """Forward, then autograd backward of sum(y) to x, h0, c0 and every parameter (the
        benchmarks' training mode; see Adapter.prepare_training)."""
        cell, x, h0, c0 = self._inputs(problem)
        leaves = [t.requires_grad_(True) for t in (x, h0, c0)] + list(cell.parameters())
        return lambda: torch.autograd.grad(self._loop(problem, cell, x, h0, c0)["y"].sum(), leaves)

    def gradients(self, problem, upstream):
        """Autograd through the LSTMCell loop (states enter as zeros when the problem has none)."""
        cell, x, h0, c0 = self._inputs(problem)
        for tensor in (x, h0, c0):
            tensor.requires_grad_(True)
        outputs = self._loop(problem, cell, x, h0, c0)
        loss = upstream_loss(outputs, upstream, "cpu", TORCH_DTYPES[problem.dtype])
        params = {name + "_l0": p for name, p in cell.named_parameters()}
        grads = torch.autograd.grad(loss, [x, h0, c0] + list(params.values()))
        result = {"x": grads[0], "h0": grads[1].unsqueeze(0), "c0": grads[2].unsqueeze(0)}
        result.update(zip(params, grads[3:]))
        return result
