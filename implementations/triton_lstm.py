"""`triton`: our own fused LSTM kernel, written in Triton (the kernel is in triton_kernels.py).

Per layer: the input projection of all steps and both directions is one GEMM (torch, float32);
then one kernel launch per direction runs the whole sequence, with W_hh loaded on chip once
and the gate math and cell update fused (see triton_kernels.py). Storage dtypes float32,
bfloat16 and float16; products accumulate in float32 and the cell state is kept in float32.

Where it runs: on a CUDA device; or on the CPU, with torch CPU tensors, under Triton's
interpreter (TRITON_INTERPRET=1 set before Triton is imported), which is how CI checks it.
Triton is an optional extra (`pip install 'lstm-conformance[triton]'`): it is imported only
when the adapter is used, and without it the adapter is skipped with that reason.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Optional

import torch

from ..adapter import Adapter, Capabilities
from ..spec.model import input_shape, parameter_shapes, state_shapes
from .torch_lstm import NN_LSTM_LACKS, TORCH_DTYPES

DTYPES = ("float32", "bfloat16", "float16")
# A program keeps its slice of W_hh on chip when the slice takes at most this many bytes
# (about half of an H100 multiprocessor's register file). A starting point, not tuned: no GPU
# was available when this was written.
RESIDENT_BYTES = 128 * 1024
SPIN_LIMIT = 1 << 22  # barrier polls before a wait is declared failed (seconds, not minutes)

KERNEL_LACKS = {
    "projection": "the triton kernel has no projection (proj_size)",
    "variable_lengths": "the triton kernel has no per-row sequence lengths",
    "padding_carry": "the triton kernel has no per-row sequence lengths, so no padding",
    "dtype": "the triton kernel stores float32, bfloat16 or float16 (it accumulates in float32; no float64)",
}


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def environment_reason(triton_installed: bool, interpreted: bool, cuda_available: bool) -> Optional[str]:
    """Why the kernel cannot run here, or None."""
    if not triton_installed:
        return "Triton is not installed (pip install 'lstm-conformance[triton]')"
    if not interpreted and not cuda_available:
        return ("no CUDA device; on the CPU the kernel runs only under Triton's interpreter "
                "(set TRITON_INTERPRET=1 before Triton is imported)")
    return None


def _interpreted() -> bool:
    """Whether the kernels run (or, once imported, will run) in Triton's interpreter."""
    import sys
    kernels = sys.modules.get(f"{__package__}.triton_kernels")
    if kernels is not None:  # Triton fixed the mode when it decorated the kernels
        return kernels.INTERPRETED
    from triton import knobs
    return bool(knobs.runtime.interpret)


@dataclass(frozen=True)
class LaunchPlan:
    """How one layer-direction sequence is split over programs and launches."""

    block_b: int
    block_h: int
    block_k: int
    h_pad: int
    batch_blocks: int
    hidden_blocks: int
    steps_per_launch: int
    w_resident: bool
    num_warps: int = 4

    @property
    def grid(self) -> tuple[int, int]:
        return (self.batch_blocks, self.hidden_blocks)


def plan_launch(T: int, B: int, H: int, elem_bytes: int, interpreted: bool, multiprocessors: int,
                hidden_blocks: Optional[int] = None, steps_per_launch: Optional[int] = None,
                w_resident: Optional[bool] = None, block_k: int = 64) -> LaunchPlan:
    """Choose block sizes. Blocks are at least 16 wide (tl.dot's minimum on a GPU). Without
    overrides: on a GPU, as many hidden blocks as the multiprocessors allow (the weights are
    spread over the chip), the whole sequence in one launch when the grid fits on the GPU at
    once (the grid barrier needs it); under the interpreter one hidden block."""
    for name, value in (("T", T), ("B", B), ("H", H)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    h_pad = max(16, _next_pow2(H))
    block_b = min(max(16, _next_pow2(B)), 64)
    batch_blocks = -(-B // block_b)
    if hidden_blocks is None:
        hidden_blocks = 1 if interpreted else max(1, multiprocessors // batch_blocks)
    if hidden_blocks < 1:
        raise ValueError(f"hidden_blocks must be at least 1, got {hidden_blocks}")
    block_h = max(16, _next_pow2(-(-H // hidden_blocks)))
    hidden_blocks = -(-H // block_h)
    if steps_per_launch is None:
        co_resident = interpreted or batch_blocks * hidden_blocks <= multiprocessors
        steps_per_launch = T if (hidden_blocks == 1 or co_resident) else 1
    if steps_per_launch < 1:
        raise ValueError(f"steps_per_launch must be at least 1, got {steps_per_launch}")
    if interpreted and hidden_blocks > 1 and steps_per_launch > 1:
        raise ValueError(f"hidden_blocks={hidden_blocks} needs steps_per_launch=1 under Triton's interpreter: "
                         "it runs the programs one after another, so a grid barrier between steps would never open")
    if w_resident is None:
        w_resident = 4 * h_pad * block_h * elem_bytes <= RESIDENT_BYTES
    block_k = max(16, min(_next_pow2(block_k), h_pad))
    return LaunchPlan(block_b=block_b, block_h=block_h, block_k=block_k, h_pad=h_pad, batch_blocks=batch_blocks,
                      hidden_blocks=hidden_blocks, steps_per_launch=min(steps_per_launch, T), w_resident=w_resident)


def empty_outputs(cfg, T: int, dtype, device) -> dict:
    H, LD = cfg.hidden_size, cfg.num_layers * cfg.num_directions
    y = torch.empty((0, T, cfg.num_directions * H) if cfg.batch_first else (T, 0, cfg.num_directions * H),
                    dtype=dtype, device=device)
    state = torch.empty((LD, 0, H), dtype=dtype, device=device)
    return {"y": y, "h_n": state, "c_n": state.clone()}


def check_shapes(problem) -> None:
    """Raise ValueError, naming the array, for inputs of the wrong shape (the kernel reads raw
    pointers, so a wrong shape would otherwise read out of bounds instead of failing)."""
    cfg = problem.config
    x_shape = problem.x.shape
    time_axis = cfg.time_axis
    if len(x_shape) != (2 if cfg.unbatched else 3) or x_shape[time_axis] < 1:
        raise ValueError(f"x has shape {x_shape}; expected {'(T, I)' if cfg.unbatched else 'three dimensions'} "
                         "with sequence length T at least 1")
    expected = {"x": input_shape(cfg, problem.seq_len, problem.batch), **state_shapes(cfg, problem.batch)}
    expected.update(parameter_shapes(cfg))
    given = {"x": problem.x, "h0": problem.h0, "c0": problem.c0, **problem.params}
    for name, shape in expected.items():
        if given.get(name) is not None and tuple(given[name].shape) != tuple(shape):
            raise ValueError(f"{name} has shape {tuple(given[name].shape)}, expected {tuple(shape)}")
        if name not in given and name not in ("h0", "c0"):
            raise ValueError(f"missing parameter {name} of shape {tuple(shape)}")


class TritonLSTMAdapter(Adapter):
    name = "triton"
    description = "our fused Triton LSTM kernel: one launch per layer and direction, W_hh kept on chip"

    def __init__(self, hidden_blocks: Optional[int] = None, steps_per_launch: Optional[int] = None,
                 w_resident: Optional[bool] = None, block_k: int = 64):
        # Overrides of the launch plan, for tests of every work split (see plan_launch).
        self.options = {"hidden_blocks": hidden_blocks, "steps_per_launch": steps_per_launch,
                        "w_resident": w_resident, "block_k": block_k}
        self.launches = 0  # kernel launches so far (tests check one per layer and direction)

    def skip_reason(self):
        installed = importlib.util.find_spec("triton") is not None
        return environment_reason(installed, installed and _interpreted(), torch.cuda.is_available())

    @property
    def device(self) -> str:
        return "cpu" if self.skip_reason() is None and _interpreted() else "cuda"

    def capabilities(self):
        reasons = {k: v.replace("nn.LSTM", "the triton kernel") for k, v in NN_LSTM_LACKS.items()}
        reasons.update(KERNEL_LACKS)
        return Capabilities(dtypes=set(DTYPES), devices={self.device},
                            features={"bias", "initial_state", "layers", "bidirectional", "batch_first", "unbatched",
                                      "reverse"},
                            outputs={"y", "h_n", "c_n"}, reasons=reasons)

    def prepare(self, problem):
        reason = self.skip_reason()
        if reason:
            raise RuntimeError(f"the triton adapter cannot run here: {reason}")
        check_shapes(problem)
        kernels = importlib.import_module(f"{__package__}.triton_kernels")
        device, dtype, cfg = self.device, TORCH_DTYPES[problem.dtype], problem.config
        H, D, L = cfg.hidden_size, cfg.num_directions, cfg.num_layers
        interpreted = kernels.INTERPRETED

        def tensor(array, to_dtype=dtype):
            return torch.from_numpy(array).to(device, to_dtype)

        x = torch.from_numpy(problem.x)  # time-major (T, B, I), the layout the kernel reads
        if cfg.unbatched:
            x = x[:, None]
        elif cfg.batch_first:
            x = x.transpose(0, 1)
        x = x.to(device, dtype).contiguous()
        T, B = x.shape[0], x.shape[1]
        states = {name: None if value is None else (value[:, None] if cfg.unbatched else value)
                  for name, value in (("h0", problem.h0), ("c0", problem.c0))}
        h0 = torch.zeros((L * D, B, H), dtype=dtype, device=device) if states["h0"] is None else tensor(states["h0"])
        c0 = (torch.zeros((L * D, B, H), dtype=torch.float32, device=device) if states["c0"] is None
              else tensor(states["c0"], torch.float32))

        layers = []
        for layer in range(L):
            sfx = [f"_l{layer}" + ("_reverse" if d else "") for d in range(D)]
            # Both directions' input weights stacked: one GEMM gives every step's projection.
            w_ih_t = torch.cat([tensor(problem.params["weight_ih" + s], torch.float32) for s in sfx]).t()
            if cfg.bias:  # b_ih + b_hh summed in float64, rounded once
                bias = torch.cat([torch.from_numpy(problem.params["bias_ih" + s] + problem.params["bias_hh" + s])
                                  for s in sfx]).to(device, torch.float32)
            else:
                bias = torch.zeros(D * 4 * H, dtype=torch.float32, device=device)
            w_hh = [tensor(problem.params["weight_hh" + s]).contiguous() for s in sfx]
            layers.append((w_ih_t, bias, w_hh))

        if B == 0:  # an empty batch: empty outputs of the stated shapes, nothing to launch
            return lambda: empty_outputs(cfg, T, dtype, device)
        multiprocessors = 1 if interpreted else torch.cuda.get_device_properties(device).multi_processor_count
        plan = plan_launch(T, B, H, x.element_size(), interpreted, multiprocessors, **self.options)
        # float32 products in full float32 (no TF32); 16-bit products are exact in the float32
        # accumulator, so they keep Triton's default
        precision = "ieee" if (dtype == torch.float32 or interpreted) else None
        dot_f32 = interpreted and dtype == torch.bfloat16  # the interpreter's tl.dot multiplies bfloat16 bits
        counters = torch.zeros(plan.batch_blocks, dtype=torch.int32, device=device)
        error = torch.zeros(1, dtype=torch.int32, device=device)
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

        def run_direction(xw, w_hh, h_init, c_init, reverse):
            hs = torch.empty((T + 1, B, H), dtype=dtype, device=device)
            hs[T if reverse else 0] = h_init
            c = c_init.clone()
            for start in range(0, T, plan.steps_per_launch):
                steps = min(plan.steps_per_launch, T - start)
                counters.zero_()
                kernels.lstm_sequence_kernel[plan.grid](
                    xw, xw.stride(0), xw.stride(1), w_hh, hs, c, counters, error,
                    T - 1 - start if reverse else start, steps, B, H,
                    REVERSE=int(reverse), BLOCK_B=plan.block_b, BLOCK_H=plan.block_h, H_PAD=plan.h_pad,
                    BLOCK_K=plan.block_k, HIDDEN_BLOCKS=plan.hidden_blocks, W_RESIDENT=plan.w_resident,
                    DOT_F32=dot_f32, PRECISION=precision, SPIN_LIMIT=SPIN_LIMIT, num_warps=plan.num_warps)
                self.launches += 1
            out = hs[:T] if reverse else hs[1:]
            return out, hs[0] if reverse else hs[T], c

        def run():
            layer_in, h_n, c_n = x, [], []
            for layer, (w_ih_t, bias, w_hh) in enumerate(layers):
                xw = torch.addmm(bias, layer_in.reshape(T * B, -1).float(), w_ih_t).view(T, B, D * 4 * H)
                outs = []
                for d in range(D):
                    out, h_last, c_last = run_direction(xw[:, :, d * 4 * H:(d + 1) * 4 * H], w_hh[d],
                                                        h0[layer * D + d], c0[layer * D + d],
                                                        cfg.runs_reverse(d))  # the kernel's own REVERSE mode
                    outs.append(out)
                    h_n.append(h_last)
                    c_n.append(c_last)
                layer_in = outs[0] if D == 1 else torch.cat(outs, dim=2)
            y, h_n, c_n = layer_in, torch.stack(h_n), torch.stack(c_n).to(dtype)
            sync()
            if plan.hidden_blocks > 1 and plan.steps_per_launch > 1 and error.item():
                raise RuntimeError(f"a grid barrier of the triton kernel timed out (grid {plan.grid}): its programs "
                                   "were not all resident at once; run with steps_per_launch=1")
            if cfg.unbatched:
                y, h_n, c_n = y[:, 0], h_n[:, 0], c_n[:, 0]
            elif cfg.batch_first:
                y = y.transpose(0, 1)
            return {"y": y, "h_n": h_n, "c_n": c_n}

        return run
