"""`torch-lstm`: torch.nn.LSTM on the CPU (and, via cuda.py, on a CUDA device)."""
from __future__ import annotations

import torch

from ..adapter import Adapter, Capabilities, array_dtype, tensor_keeping_strides
from ..spec.model import state_shapes

TORCH_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}

# What nn.LSTM cannot express, and why: shown as the reason for 'unsupported'.
NN_LSTM_LACKS = {
    "activations": "nn.LSTM has fixed activations (sigmoid gates, tanh cell input and output)",
    "peepholes": "nn.LSTM has no peephole connections",
    "cell_clip": "nn.LSTM has no cell clip",
    "input_forget": "nn.LSTM has no coupled input-forget gate",
    "forget_bias": "nn.LSTM has no run-time forget-gate bias",
    "reverse": "nn.LSTM has no single reverse direction (bidirectional=True always adds a forward one)",
    "direction_activations": "nn.LSTM has fixed activations, the same in both directions",
    "peephole_output_previous": "nn.LSTM has no peephole connections",
    "padding_carry": "nn.LSTM's packed sequences pad y with a constant (pad_packed_sequence's padding_value); "
                     "it has no carried output past a sequence's length",
    "state_clip": "nn.LSTM has no clip of the cell state",
    "proj_clip": "nn.LSTM has no clip of the projected output",
    "layer_norm": "nn.LSTM has no layer-normalised gates",
}


class LSTMWithoutRandomInit(torch.nn.LSTM):
    """nn.LSTM whose constructor leaves the parameters uninitialised instead of drawing random
    ones: build_module overwrites every one of them with the problem's at once, and the draws
    were a third to a half of the cost of a build (a library run builds thousands). Everything
    else, the forward pass included, is nn.LSTM's."""

    def reset_parameters(self):
        pass


def build_module(problem, device, dtype) -> torch.nn.LSTM:
    """An nn.LSTM with the problem's configuration and parameters (canonical layout = torch's)."""
    cfg = problem.config
    module = LSTMWithoutRandomInit(cfg.input_size, cfg.hidden_size, num_layers=cfg.num_layers, bias=cfg.bias,
                                   batch_first=cfg.batch_first, bidirectional=cfg.bidirectional,
                                   proj_size=cfg.proj_size, device=device, dtype=dtype)
    unknown = sorted(set(problem.params) - {name for name, _ in module.named_parameters()})
    if unknown:
        raise ValueError(f"nn.LSTM has no parameter {', '.join(unknown)}")
    copy_parameters(module, problem.params)
    return module


def copy_parameters(module: torch.nn.Module, params: dict, suffix: str = "") -> None:
    """Each parameter of the module set to params[its name + suffix]. One the problem lacks is
    an error: the module's own values are uninitialised memory (LSTMWithoutRandomInit)."""
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if name + suffix not in params:
                raise ValueError(f"the problem has no parameter {name + suffix} (it has {', '.join(sorted(params))})")
            parameter.copy_(torch.from_numpy(params[name + suffix]))


def initial_state(problem, device, dtype):
    """(h0, c0) or None; nn.LSTM takes both or neither, so a missing one is zeros."""
    if problem.h0 is None and problem.c0 is None:
        return None
    shapes = state_shapes(problem.config, problem.batch)
    h0 = problem.h0 if problem.h0 is not None else torch.zeros(shapes["h0"], dtype=torch.float64).numpy()
    c0 = problem.c0 if problem.c0 is not None else torch.zeros(shapes["c0"], dtype=torch.float64).numpy()
    return (tensor_keeping_strides(h0, dtype, device), tensor_keeping_strides(c0, dtype, device))


class TorchLSTMAdapter(Adapter):
    name = "torch-lstm"
    description = "torch.nn.LSTM on the CPU"
    device = "cpu"

    def capabilities(self):
        return Capabilities(
            # float16 and bfloat16: nn.LSTM runs them on the CPU too (PyTorch 2.13, measured)
            dtypes={"float16", "bfloat16", "float32", "float64"}, devices={self.device},
            features={"bias", "initial_state", "layers", "bidirectional", "projection", "variable_lengths",
                      "batch_first", "unbatched"},
            outputs={"y", "h_n", "c_n"}, gradients=True, mixed_dtypes=True, reasons=dict(NN_LSTM_LACKS))

    def synchronize(self):
        pass

    def prepare(self, problem):
        dtype = TORCH_DTYPES[problem.dtype]
        module = build_module(problem, self.device, dtype)
        x = tensor_keeping_strides(problem.x, TORCH_DTYPES[array_dtype(problem, "x")], self.device)
        hx = initial_state(problem, self.device, TORCH_DTYPES[array_dtype(problem, "h0")])
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

    def gradients(self, problem, upstream):
        return torch_lstm_gradients(self, problem, upstream)

    def prepare_training(self, problem):
        """Forward, then autograd backward of sum(y) to x, h0, c0 and every parameter (the
        benchmarks' training mode; see Adapter.prepare_training)."""
        dtype = TORCH_DTYPES[problem.dtype]
        module = build_module(problem, self.device, dtype)
        x = tensor_keeping_strides(problem.x, dtype, self.device).requires_grad_(True)
        hx = initial_state(problem, self.device, dtype)
        leaves = [x, *module.parameters()] + [s.requires_grad_(True) for s in (hx or ())]

        def run():
            y, _ = apply_module(module, problem, x, hx)
            grads = torch.autograd.grad(y.sum(), leaves)
            self.synchronize()
            return grads

        return run


def apply_module(module, problem, x, hx):
    """module(x, hx), through pack_padded_sequence when the problem has lengths."""
    if problem.lengths is None:
        return module(x, hx)
    rnn = torch.nn.utils.rnn
    lengths = torch.as_tensor(problem.lengths, dtype=torch.int64)
    packed = rnn.pack_padded_sequence(x, lengths, batch_first=problem.config.batch_first, enforce_sorted=False)
    y_packed, state = module(packed, hx)
    y, _ = rnn.pad_packed_sequence(y_packed, batch_first=problem.config.batch_first, total_length=problem.seq_len)
    return y, state


def upstream_loss(outputs: dict, upstream: dict, device, dtype):
    """Σ upstream ⊙ output over the given upstream gradients (the scalar to differentiate)."""
    terms = [(outputs[k] * torch.from_numpy(v).to(device, dtype)).sum() for k, v in upstream.items() if v is not None]
    return torch.stack(terms).sum()


def torch_lstm_gradients(adapter, problem, upstream):
    """Autograd through nn.LSTM: gradients w.r.t. x, h0, c0 and every parameter, canonical names."""

    dtype = TORCH_DTYPES[problem.dtype]
    module = build_module(problem, adapter.device, dtype)
    x = tensor_keeping_strides(problem.x, dtype, adapter.device).requires_grad_(True)
    shapes = state_shapes(problem.config, problem.batch)
    # Explicit zero states when none are given, so their gradients exist too.
    h0, c0 = (torch.zeros(shapes[k], dtype=dtype, device=adapter.device) if v is None
              else tensor_keeping_strides(v, dtype, adapter.device) for k, v in (("h0", problem.h0), ("c0", problem.c0)))
    h0.requires_grad_(True)
    c0.requires_grad_(True)
    y, (h_n, c_n) = apply_module(module, problem, x, (h0, c0))
    loss = upstream_loss({"y": y, "h_n": h_n, "c_n": c_n}, upstream, adapter.device, dtype)
    params = dict(module.named_parameters())
    grads = torch.autograd.grad(loss, [x, h0, c0] + list(params.values()), allow_unused=True)
    names = ["x", "h0", "c0"] + list(params)
    return {n: (torch.zeros_like(t) if g is None else g) for n, g, t in zip(names, grads, [x, h0, c0] + list(params.values()))}
