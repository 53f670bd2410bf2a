"""`torch-lstm`: torch.nn.LSTM on the CPU (and, via cuda.py, on a CUDA device)."""
from __future__ import annotations

import torch

from ..adapter import Adapter, Capabilities

TORCH_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}

# What nn.LSTM cannot express, and why: shown as the reason for 'unsupported'.
NN_LSTM_LACKS = {
    "activations": "nn.LSTM has fixed activations (sigmoid gates, tanh cell input and output)",
    "peepholes": "nn.LSTM has no peephole connections",
    "cell_clip": "nn.LSTM has no cell clip",
    "input_forget": "nn.LSTM has no coupled input-forget gate",
    "forget_bias": "nn.LSTM has no run-time forget-gate bias",
}


def build_module(problem, device, dtype) -> torch.nn.LSTM:
    """An nn.LSTM with the problem's configuration and parameters (canonical layout = torch's)."""
    cfg = problem.config
    module = torch.nn.LSTM(cfg.input_size, cfg.hidden_size, num_layers=cfg.num_layers, bias=cfg.bias,
                           batch_first=cfg.batch_first, bidirectional=cfg.bidirectional,
                           proj_size=cfg.proj_size, device=device, dtype=dtype)
    with torch.no_grad():
        for name, value in problem.params.items():
            getattr(module, name).copy_(torch.from_numpy(value))
    return module


def initial_state(problem, device, dtype):
    """(h0, c0) or None; nn.LSTM takes both or neither, so a missing one is zeros."""
    if problem.h0 is None and problem.c0 is None:
        return None
    from ..spec.model import state_shapes
    shapes = state_shapes(problem.config, problem.batch)
    h0 = problem.h0 if problem.h0 is not None else torch.zeros(shapes["h0"], dtype=torch.float64).numpy()
    c0 = problem.c0 if problem.c0 is not None else torch.zeros(shapes["c0"], dtype=torch.float64).numpy()
    return (torch.from_numpy(h0).to(device, dtype), torch.from_numpy(c0).to(device, dtype))


class TorchLSTMAdapter(Adapter):
    name = "torch-lstm"
    description = "torch.nn.LSTM on the CPU"
    device = "cpu"

    def capabilities(self):
        return Capabilities(
            dtypes={"float32", "float64"}, devices={self.device},
            features={"bias", "initial_state", "layers", "bidirectional", "projection", "variable_lengths",
                      "batch_first", "unbatched"},
            outputs={"y", "h_n", "c_n"}, gradients=True, reasons=dict(NN_LSTM_LACKS))

    def synchronize(self):
        pass

    def prepare(self, problem):
        dtype = TORCH_DTYPES[problem.dtype]
        module = build_module(problem, self.device, dtype)
        x = torch.from_numpy(problem.x).to(self.device, dtype)
        hx = initial_state(problem, self.device, dtype)
        cfg = problem.config
        lengths = None if problem.lengths is None else torch.as_tensor(problem.lengths, dtype=torch.int64)
        rnn = torch.nn.utils.rnn

        def run():
            with torch.no_grad():
                if lengths is None:
                    out = module(x, hx)
                else:
                    packed = rnn.pack_padded_sequence(x, lengths, batch_first=cfg.batch_first, enforce_sorted=False)
                    y_packed, state = module(packed, hx)
                    y, _ = rnn.pad_packed_sequence(y_packed, batch_first=cfg.batch_first, total_length=problem.seq_len)
                    out = (y, state)
            self.synchronize()
            return out

        return run
