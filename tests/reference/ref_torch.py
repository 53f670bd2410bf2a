"""Run a reference test problem through torch.nn.LSTM in float64, with autograd."""
from __future__ import annotations

import numpy as np
import torch


def torch_lstm(problem: dict, grads: dict | None = None) -> dict:
    """torch's y, h_n, c_n for `problem` (see ref_problems.make_problem); with upstream
    `grads` ({"grad_y", "grad_h_n", "grad_c_n"}), also the gradients w.r.t. x, h0, c0 and
    every parameter, from torch.autograd. Variable lengths go through pack_padded_sequence."""
    cfg = problem["config"]
    module = torch.nn.LSTM(cfg.input_size, cfg.hidden_size, num_layers=cfg.num_layers, bias=cfg.bias,
                           batch_first=cfg.batch_first, bidirectional=cfg.bidirectional,
                           proj_size=cfg.proj_size, dtype=torch.float64)
    with torch.no_grad():
        for name, value in problem["params"].items():
            getattr(module, name).copy_(torch.from_numpy(value))
    x = torch.from_numpy(problem["x"]).requires_grad_()
    state, leaves = None, {"x": x}
    if problem["h0"] is not None:
        h0 = torch.from_numpy(problem["h0"]).requires_grad_()
        c0 = torch.from_numpy(problem["c0"]).requires_grad_()
        state, leaves["h0"], leaves["c0"] = (h0, c0), h0, c0
    if problem["lengths"] is None:
        y, (h_n, c_n) = module(x, state)
    else:
        rnn = torch.nn.utils.rnn
        seq_len = x.shape[1] if cfg.batch_first else x.shape[0]
        packed = rnn.pack_padded_sequence(x, torch.as_tensor(problem["lengths"]), batch_first=cfg.batch_first,
                                          enforce_sorted=False)
        y_packed, (h_n, c_n) = module(packed, state)
        y, _ = rnn.pad_packed_sequence(y_packed, batch_first=cfg.batch_first, total_length=seq_len)
    out = {"y": y.detach().numpy(), "h_n": h_n.detach().numpy(), "c_n": c_n.detach().numpy()}
    if grads is not None:
        total = sum((tensor * torch.from_numpy(np.asarray(grads[f"grad_{key}"]))).sum()
                    for key, tensor in (("y", y), ("h_n", h_n), ("c_n", c_n)) if grads.get(f"grad_{key}") is not None)
        total.backward()
        out["grads"] = {name: leaf.grad.numpy() for name, leaf in leaves.items()}
        out["grads"].update({name: p.grad.numpy() for name, p in module.named_parameters()})
    return out
