"""The FLOP model of the speed tables and the GEMMs that measure the machine's own rate:
forward ≈ 2·T·B·4H·(I + H) per layer and direction (DESIGN.md), training ≈ 3× forward."""
from __future__ import annotations

from typing import Sequence

from ..spec.loader import CaseSpec
from .shapes import parse_shape

TRAINING_FLOP_FACTOR = 3.0
GEMM_MAX_ROWS = 2048  # rows of the matrix-multiply-rate GEMM, capped to keep it short


def forward_flops(case: CaseSpec) -> float:
    """≈ 2·T·B·4H·(I + H) per layer and direction (plus the projection when there is one)."""
    cfg = case.config
    T, B = case.shape["seq_len"], case.shape["batch"]
    total = 0.0
    for layer in range(cfg.num_layers):
        I = cfg.input_size if layer == 0 else cfg.num_directions * cfg.output_size
        per_dir = 2 * T * B * 4 * cfg.hidden_size * (I + cfg.output_size)
        if cfg.proj_size:
            per_dir += 2 * T * B * cfg.hidden_size * cfg.proj_size
        total += per_dir * cfg.num_directions
    return float(total)


def mode_flops(case: CaseSpec, mode: str) -> float:
    return forward_flops(case) * (TRAINING_FLOP_FACTOR if mode == "training" else 1.0)


def gemm_size(shapes: Sequence[str]) -> tuple[int, int, int]:
    """(M, K, N) of a GEMM comparable to the set: the first layer of the largest shape done as
    one product, (T·B, I + H) @ (I + H, 4H), rows capped at GEMM_MAX_ROWS."""
    cases = [parse_shape(s) for s in shapes]
    largest = max(cases, key=forward_flops)
    T, B = largest.shape["seq_len"], largest.shape["batch"]
    cfg = largest.config
    return min(T * B, GEMM_MAX_ROWS), cfg.input_size + cfg.output_size, 4 * cfg.hidden_size


# Square GEMMs large enough to reach a BLAS's plateau; with the comparable one above, the
# fastest measured rate is the speed tables' physical limit.
SQUARE_GEMM = {"cpu": 1024, "cuda": 8192}


def gemm_sizes(shapes: Sequence[str], device: str) -> list[tuple[int, int, int]]:
    n = SQUARE_GEMM.get(device, 1024)
    return list(dict.fromkeys([gemm_size(shapes), (n, n, n)]))
