"""`torch-cell`: a Python loop of torch.nn.LSTMCell over time, on the CPU."""
from __future__ import annotations

import torch

from ..adapter import Adapter, Capabilities
from .torch_lstm import NN_LSTM_LACKS, TORCH_DTYPES


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
        })
        return Capabilities(dtypes={"float32", "float64"},
                            features={"bias", "initial_state", "batch_first", "unbatched"},
                            outputs={"y", "h_n", "c_n", "c"}, gradients=True, reasons=reasons)

    def prepare(self, problem):
        cfg, dtype = problem.config, TORCH_DTYPES[problem.dtype]
        cell = torch.nn.LSTMCell(cfg.input_size, cfg.hidden_size, bias=cfg.bias, dtype=dtype)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                if name + "_l0" in problem.params:
                    getattr(cell, name).copy_(torch.from_numpy(problem.params[name + "_l0"]))
        x = torch.from_numpy(problem.x).to(dtype)
        time_axis = 1 if (cfg.batch_first and not cfg.unbatched) else 0
        state_shape = (cfg.hidden_size,) if cfg.unbatched else (problem.batch, cfg.hidden_size)
        h0 = torch.zeros(state_shape, dtype=dtype) if problem.h0 is None else torch.from_numpy(problem.h0[0]).to(dtype)
        c0 = torch.zeros(state_shape, dtype=dtype) if problem.c0 is None else torch.from_numpy(problem.c0[0]).to(dtype)

        def run():
            h, c = h0, c0
            ys, cs = [], []
            with torch.no_grad():
                for x_t in x.unbind(time_axis):
                    h, c = cell(x_t, (h, c))
                    ys.append(h)
                    cs.append(c)
            return {"y": torch.stack(ys, time_axis), "c": torch.stack(cs, time_axis),
                    "h_n": h.unsqueeze(0), "c_n": c.unsqueeze(0)}

        return run
