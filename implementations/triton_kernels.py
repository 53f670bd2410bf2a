"""The Triton kernel of the `triton` adapter: one LSTM layer and direction, a whole sequence per launch.

Imported only by triton_lstm.py, and only when Triton is installed. Triton decides at import
time (from TRITON_INTERPRET) whether these kernels are compiled for a GPU or run by its CPU
interpreter; INTERPRETED records which.

Work split (persistent RNN, as FlashRNN's fused kernel and Diamos et al.'s persistent RNNs):
program (pid_b, pid_h) owns BLOCK_B batch rows and BLOCK_H hidden units, i.e. the rows
{q·H + u} of W_hh for the four gates q and its units u. It loads that slice of W_hh once,
before the time loop (W_RESIDENT), and keeps it on chip for every step; its units' cell
states stay in registers, in float32. The input projection x·W_ihᵀ + b_ih + b_hh of all steps
is computed beforehand as one GEMM (xw, float32). Each step:

    z_q = xw[t, :, q·H + u] + h_prev · W_hh[q·H + u, :]ᵀ    (tl.dot, float32 accumulation)
    c   = σ(z_f) ⊙ c + σ(z_i) ⊙ tanh(z_g);   h = σ(z_o) ⊙ tanh(c)

h_prev is read from `hs`, a (T + 1, B, H) buffer holding h0 and every step's output: a forward
step t reads row t and writes row t + 1, a reverse step reads row t + 1 and writes row t. With
HIDDEN_BLOCKS > 1 the programs of one batch block need each other's units of h_prev, so they
meet at a grid barrier after each step (an atomic arrival counter per batch block); that needs
all programs resident at once, which the launcher ensures by launching no more programs than
the GPU has multiprocessors. A wait that spins past SPIN_LIMIT sets error[0] and gives up,
so a violated assumption shows as an error instead of a hung GPU.
When the slice of W_hh is too large for the chip (W_RESIDENT False) it is streamed from global
memory (L2) in BLOCK_K-column chunks every step instead.
"""
from __future__ import annotations

import triton
import triton.language as tl
from triton import knobs

# True when TRITON_INTERPRET was set when this module was imported: the kernels then run on
# the CPU, in NumPy, one program after another.
INTERPRETED = bool(knobs.runtime.interpret)


def _device(fn):
    """A device function of the kernel: compiled with it on a GPU. Under the interpreter a plain
    Python call: the interpreter re-patches triton.language on every call of a jit function
    (about 0.3 ms each, some 11 calls per step and program), while the kernel's own launch has
    already patched it for the helpers, which run as the same NumPy operations either way."""
    return fn if INTERPRETED else triton.jit(fn)


@_device
def _sigmoid(z):
    # The exponent is capped at 80 (σ(-80) ≈ 1.8e-35) so that exp never overflows.
    return 1.0 / (1.0 + tl.exp(tl.minimum(-z, 80.0)))


@_device
def _tanh(z):
    # tanh(z) = 2σ(2z) − 1: only exp, which every backend has; absolute error ≈ float32 eps.
    return 2.0 * _sigmoid(2.0 * z) - 1.0


@triton.jit
def _grid_barrier(counter_ptr, target, error_ptr, SPIN_LIMIT: tl.constexpr):
    """Wait until `target` arrivals are counted at counter_ptr (this program's included)."""
    tl.debug_barrier()  # all threads of this program have issued their stores of h
    arrived = tl.atomic_add(counter_ptr, 1, sem="release", scope="gpu") + 1
    spins = 0
    while (arrived < target) & (spins < SPIN_LIMIT):
        arrived = tl.atomic_add(counter_ptr, 0, sem="acquire", scope="gpu")
        spins += 1
    if arrived < target:
        tl.atomic_xchg(error_ptr, 1)
    tl.debug_barrier()


@_device
def _gate_tile(h_tile, w_tile, acc, DOT_F32: tl.constexpr, PRECISION: tl.constexpr):
    if DOT_F32:
        # Products of two bfloat16 (or float16) values are exact in float32, so this only
        # changes the summation order; it works around the interpreter's bfloat16 tl.dot.
        return tl.dot(h_tile.to(tl.float32), w_tile.to(tl.float32), acc=acc, input_precision=PRECISION)
    return tl.dot(h_tile, w_tile, acc=acc, input_precision=PRECISION)


@triton.jit
def lstm_sequence_kernel(
    xw_ptr, xw_stride_t, xw_stride_b,  # float32 (T, B, 4H) input projection incl. biases (strided view)
    w_hh_ptr,  # (4H, H) contiguous, storage dtype
    hs_ptr,  # (T + 1, B, H) contiguous, storage dtype: h0 and every step's h
    c_ptr,  # (B, H) float32: cell state, read at the start, written at the end
    counter_ptr, error_ptr,  # int32 (num batch blocks,) zeroed, and (1,)
    t_first, steps, B, H,  # time index of this launch's first step; number of steps
    REVERSE: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_H: tl.constexpr, H_PAD: tl.constexpr,
    BLOCK_K: tl.constexpr, HIDDEN_BLOCKS: tl.constexpr, W_RESIDENT: tl.constexpr,
    DOT_F32: tl.constexpr, PRECISION: tl.constexpr, SPIN_LIMIT: tl.constexpr,
):
    # REVERSE is 0 or 1 (an int, so that it can be added to the time index)
    pid_b = tl.program_id(0)
    pid_h = tl.program_id(1)
    rows = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    units = pid_h * BLOCK_H + tl.arange(0, BLOCK_H)
    row_ok = rows < B
    unit_ok = units < H
    tile_ok = row_ok[:, None] & unit_ok[None, :]

    # Offsets that are the same in every step, computed once: the compiler hoists them anyway,
    # Triton's interpreter would recompute them (with overflow checks) every step.
    w_f_ptr, w_g_ptr, w_o_ptr = w_hh_ptr + H * H, w_hh_ptr + 2 * H * H, w_hh_ptr + 3 * H * H
    w_units = units[None, :] * H  # the start of each of this program's units' rows of W_hh
    h_rows = rows[:, None] * H  # the start of each of this program's rows of h
    step_size = B * H  # one step's h in hs
    # step t reads h from row t + REVERSE of hs and writes row t + 1 - REVERSE
    h_in_shift, h_out_shift = REVERSE * step_size, (1 - REVERSE) * step_size
    last = steps - 1
    xw_tile = rows[:, None] * xw_stride_b + units[None, :]
    H2, H3 = 2 * H, 3 * H

    if W_RESIDENT:
        # This program's rows of W_hh, transposed to (H_PAD, BLOCK_H): loaded once, on chip for all steps.
        k = tl.arange(0, H_PAD)
        w_offsets = w_units + k[:, None]
        w_mask = (k < H)[:, None] & unit_ok[None, :]
        w_i = tl.load(w_hh_ptr + w_offsets, mask=w_mask, other=0.0)
        w_f = tl.load(w_f_ptr + w_offsets, mask=w_mask, other=0.0)
        w_g = tl.load(w_g_ptr + w_offsets, mask=w_mask, other=0.0)
        w_o = tl.load(w_o_ptr + w_offsets, mask=w_mask, other=0.0)
        h_offsets = h_rows + k[None, :]
        h_mask = row_ok[:, None] & (k < H)[None, :]

    state_offsets = h_rows + units[None, :]
    c = tl.load(c_ptr + state_offsets, mask=tile_ok, other=0.0)

    for s in range(steps):
        if REVERSE:
            t = t_first - s
        else:
            t = t_first + s
        h_t = hs_ptr + t * step_size
        h_prev_ptr = h_t + h_in_shift
        xw_row = xw_ptr + t * xw_stride_t + xw_tile
        z_i = tl.load(xw_row, mask=tile_ok, other=0.0)
        z_f = tl.load(xw_row + H, mask=tile_ok, other=0.0)
        z_g = tl.load(xw_row + H2, mask=tile_ok, other=0.0)
        z_o = tl.load(xw_row + H3, mask=tile_ok, other=0.0)
        if W_RESIDENT:
            # .cg: read from L2, past this multiprocessor's L1, which may hold another program's stale h
            h = tl.load(h_prev_ptr + h_offsets, mask=h_mask, other=0.0, cache_modifier=".cg")
            z_i = _gate_tile(h, w_i, z_i, DOT_F32, PRECISION)
            z_f = _gate_tile(h, w_f, z_f, DOT_F32, PRECISION)
            z_g = _gate_tile(h, w_g, z_g, DOT_F32, PRECISION)
            z_o = _gate_tile(h, w_o, z_o, DOT_F32, PRECISION)
        else:
            for k0 in range(0, H, BLOCK_K):
                k = k0 + tl.arange(0, BLOCK_K)
                k_ok = k < H
                h = tl.load(h_prev_ptr + h_rows + k[None, :], mask=row_ok[:, None] & k_ok[None, :],
                            other=0.0, cache_modifier=".cg")
                w_offsets = w_units + k[:, None]
                w_mask = k_ok[:, None] & unit_ok[None, :]
                z_i = _gate_tile(h, tl.load(w_hh_ptr + w_offsets, mask=w_mask, other=0.0), z_i, DOT_F32, PRECISION)
                z_f = _gate_tile(h, tl.load(w_f_ptr + w_offsets, mask=w_mask, other=0.0), z_f, DOT_F32, PRECISION)
                z_g = _gate_tile(h, tl.load(w_g_ptr + w_offsets, mask=w_mask, other=0.0), z_g, DOT_F32, PRECISION)
                z_o = _gate_tile(h, tl.load(w_o_ptr + w_offsets, mask=w_mask, other=0.0), z_o, DOT_F32, PRECISION)
        c = _sigmoid(z_f) * c + _sigmoid(z_i) * _tanh(z_g)
        h_new = _sigmoid(z_o) * _tanh(c)
        h_out_ptr = h_t + h_out_shift
        tl.store(h_out_ptr + state_offsets, h_new.to(hs_ptr.dtype.element_ty), mask=tile_ok)
        if s < last:  # the next step reads every unit of h: wait for the programs that write them
            if HIDDEN_BLOCKS > 1:
                _grid_barrier(counter_ptr + pid_b, (s + 1) * HIDDEN_BLOCKS, error_ptr, SPIN_LIMIT)
            else:
                tl.debug_barrier()
    tl.store(c_ptr + state_offsets, c, mask=tile_ok)
