"""The correct implementation every mutant departs from: a plain PyTorch LSTM written out
step by step (gradients by autograd), with each place a real implementation goes wrong
factored into a small overridable method. A mutant overrides exactly one of them.

It is an independent implementation (no reference import), and the suite must pass it:
that is the "no false failure" half of the mutation score.
"""
from __future__ import annotations

import numpy as np
import torch

from ..adapter import Adapter, Capabilities, array_dtype
from ..implementations.torch_lstm import TORCH_DTYPES
from ..spec.model import input_shape, parameter_shapes, state_shapes


class ControlLSTM(Adapter):
    name = "control"
    description = "the correct base of the mutant zoo (PyTorch, step by step)"
    defect = "none: the correct implementation the mutants depart from"

    def capabilities(self):
        return Capabilities(dtypes={"float32", "float64"},
                            features={"bias", "initial_state", "layers", "bidirectional", "projection",
                                      "variable_lengths", "batch_first", "unbatched"},
                            outputs={"y", "h_n", "c_n", "c"}, gradients=True, mixed_dtypes=True)

    # ------------------------------------------------------------------ the places defects live
    def read_array(self, array: np.ndarray) -> np.ndarray:
        """How the implementation reads an input array's memory (strides honoured)."""
        return array

    def validate(self, problem) -> None:
        """Reject what SPEC.md §9 says must be rejected."""
        cfg = problem.config
        if cfg.proj_size and cfg.proj_size >= cfg.hidden_size:
            raise ValueError(f"proj_size {cfg.proj_size} must be smaller than hidden_size {cfg.hidden_size}")
        if problem.seq_len < 1:
            raise ValueError(f"sequence length must be at least 1, got x of shape {problem.x.shape}")
        self.validate_shapes(problem)

    def validate_shapes(self, problem) -> None:
        cfg = problem.config
        expected = input_shape(cfg, problem.seq_len, problem.batch)
        if problem.x.shape != expected:
            raise ValueError(f"x has shape {problem.x.shape}, expected {expected}")
        for name, shape in state_shapes(cfg, problem.batch).items():
            value = getattr(problem, name)
            if value is not None and value.shape != shape:
                raise ValueError(f"{name} has shape {value.shape}, expected {shape}")
        for name, shape in parameter_shapes(cfg).items():
            if problem.params[name].shape != shape:
                raise ValueError(f"{name} has shape {problem.params[name].shape}, expected {shape}")
        if problem.lengths is not None:
            lengths = np.asarray(problem.lengths)
            in_range = not lengths.size or 1 <= lengths.min() <= lengths.max() <= problem.seq_len
            if lengths.shape != (problem.batch,) or not in_range:
                raise ValueError(f"lengths {lengths.tolist()} must be one per row, in 1..{problem.seq_len}")

    def input_tensor(self, problem, x: torch.Tensor, dtype) -> torch.Tensor:
        """x as the computation takes it (a mismatched dtype is left to fail in the matmul)."""
        return x

    def compute_dtype(self, dtype):
        return dtype

    def gate_blocks(self, a: torch.Tensor, hidden: int):
        """The pre-activations of gates i, f, g, o from the fused (B, 4H) product."""
        return a.split_with_sizes((hidden,) * 4, dim=-1)  # Tensor.split's Python wrapper costs double

    def combined_bias(self, bias_ih, bias_hh):
        return bias_ih + bias_hh

    def initial_state(self, h0, c0):
        return h0, c0

    def sigmoid(self, z):
        return torch.sigmoid(z)

    def cell_update(self, f, c, i, g):
        return f * c + i * g

    def cell_output(self, c):
        return torch.tanh(c)

    def time_steps(self, seq_len: int, reverse: bool):
        return range(seq_len - 1, -1, -1) if reverse else range(seq_len)

    def output_slot(self, t: int, seq_len: int, reverse: bool) -> int:
        """Where the output of step t goes in y."""
        return t

    def respects_lengths(self) -> bool:
        """Rows past their length keep their state (False: the padding is processed)."""
        return True

    def carry(self, h, c):
        """The state handed to the next step."""
        return h, c

    def final_state(self, h, c, ys, cs):
        """h_n, c_n of one layer and direction (ys, cs: its per-step outputs in time order)."""
        return h, c

    def finish(self, outputs: dict, problem) -> dict:
        return outputs

    def upstream_terms(self, upstream: dict) -> dict:
        return upstream

    def finish_gradients(self, grads: dict, problem) -> dict:
        return grads

    # ------------------------------------------------------------------ the computation
    def tensors(self, problem, requires_grad: bool = False):
        """x, h0, c0 and the parameters as tensors in the compute dtype."""
        dtype = self.compute_dtype(TORCH_DTYPES[problem.dtype])
        as_tensor = lambda a, d: torch.from_numpy(np.asarray(self.read_array(a), dtype=np.float64)).to(d)  # noqa: E731
        x_dtype = self.compute_dtype(TORCH_DTYPES[array_dtype(problem, "x")])
        x = self.input_tensor(problem, as_tensor(problem.x, x_dtype), dtype)
        shapes = state_shapes(problem.config, problem.batch)
        h0 = torch.zeros(shapes["h0"], dtype=dtype) if problem.h0 is None else as_tensor(problem.h0, dtype)
        c0 = torch.zeros(shapes["c0"], dtype=dtype) if problem.c0 is None else as_tensor(problem.c0, dtype)
        params = {k: as_tensor(v, dtype) for k, v in problem.params.items()}
        if requires_grad:
            for t in [x, h0, c0, *params.values()]:
                t.requires_grad_(True)
        return x, h0, c0, params

    def forward(self, problem, x, h0, c0, params) -> dict:
        cfg = problem.config
        if cfg.unbatched:
            x, h0, c0 = x[:, None], h0[:, None], c0[:, None]
        elif cfg.batch_first:
            x = x.transpose(0, 1)
        T, D = x.shape[0], cfg.num_directions
        h0, c0 = self.initial_state(h0, c0)
        mask = None
        if problem.lengths is not None:
            mask = torch.from_numpy(np.arange(T)[:, None] < np.asarray(problem.lengths)[None, :])[:, :, None]
        layer_in, h_n, c_n, cells = x, [], [], None
        for layer in range(cfg.num_layers):
            outs, cells = [], []
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                p = {k[: -len(sfx)]: v for k, v in params.items() if k.endswith(sfx)}
                y, cs, h, c = self.direction(cfg, p, layer_in, h0[layer * D + d], c0[layer * D + d], mask, bool(d))
                outs.append(y)
                cells.append(cs)
                h_n.append(h)
                c_n.append(c)
            layer_in = torch.cat(outs, dim=-1)
        y, cell_states, h_n, c_n = layer_in, torch.cat(cells, dim=-1), torch.stack(h_n), torch.stack(c_n)
        if cfg.unbatched:
            y, cell_states, h_n, c_n = y[:, 0], cell_states[:, 0], h_n[:, 0], c_n[:, 0]
        elif cfg.batch_first:
            y, cell_states = y.transpose(0, 1), cell_states.transpose(0, 1)
        return {"y": y, "h_n": h_n, "c_n": c_n, "c": cell_states}

    def direction(self, cfg, p, x, h, c, mask, reverse):
        T, B = x.shape[0], x.shape[1]
        H, P = cfg.hidden_size, cfg.output_size
        ys, cs = [None] * T, [None] * T  # the slots no step writes stay zero (filled in below)
        bias = self.combined_bias(p["bias_ih"], p["bias_hh"]) if cfg.bias else 0.0
        # the input's share of every step: one product, not T, taken apart once (one autograd node)
        x_proj = (x @ p["weight_ih"].T).unbind(0)
        w_hh = p["weight_hh"].T
        for t in self.time_steps(T, reverse):
            a = x_proj[t] + h @ w_hh + bias
            a_i, a_f, a_g, a_o = self.gate_blocks(a, H)
            i, f, g, o = self.sigmoid(a_i), self.sigmoid(a_f), torch.tanh(a_g), self.sigmoid(a_o)
            c_new = self.cell_update(f, c, i, g)
            h_new = o * self.cell_output(c_new)
            if cfg.proj_size:
                h_new = h_new @ p["weight_hr"].T
            if mask is not None:
                m = mask[t]
                if self.respects_lengths():
                    h, c = torch.where(m, h_new, h), torch.where(m, c_new, c)
                else:
                    h, c = h_new, c_new
                h_new, c_new = torch.where(m, h_new, 0.0), torch.where(m, c_new, 0.0)
            else:
                h, c = h_new, c_new
            h, c = self.carry(h, c)
            slot = self.output_slot(t, T, reverse)
            ys[slot], cs[slot] = h_new, c_new
        ys = [h.new_zeros(B, P) if y is None else y for y in ys]
        cs = [c.new_zeros(B, H) if s is None else s for s in cs]
        h, c = self.final_state(h, c, ys, cs)
        if T == 0:
            return x.new_zeros(0, B, P), x.new_zeros(0, B, H), h, c
        return torch.stack(ys), torch.stack(cs), h, c

    def prepare(self, problem):
        self.validate(problem)
        x, h0, c0, params = self.tensors(problem)
        out_dtype = TORCH_DTYPES[problem.dtype]

        def run():
            with torch.no_grad():
                outputs = self.forward(problem, x, h0, c0, params)
            return self.finish({k: v.to(out_dtype) for k, v in outputs.items()}, problem)

        return run

    def gradients(self, problem, upstream):
        self.validate(problem)
        x, h0, c0, params = self.tensors(problem, requires_grad=True)
        outputs = self.forward(problem, x, h0, c0, params)
        terms = [(outputs[k] * torch.from_numpy(v).to(outputs[k].dtype)).sum()
                 for k, v in self.upstream_terms(upstream).items() if v is not None]
        loss = torch.stack(terms).sum() if terms else outputs["y"].sum() * 0.0
        leaves = {"x": x, "h0": h0, "c0": c0, **params}
        grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
        result = {k: (torch.zeros_like(t) if g is None else g) for (k, t), g in zip(leaves.items(), grads)}
        return self.finish_gradients(result, problem)
