"""The FLOP model of the speed tables and the GEMMs that measure the machine's own rate:
forward ≈ 2·T·B·4H·(I + H) per layer and direction (DESIGN.md), training ≈ 3× forward."""
from __future__ import annotations

from ..spec.loader import CaseSpec

TRAINING_FLOP_FACTOR = 3.0


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


# The matrix-multiply rate is measured on one fixed square GEMM per device, whatever the shapes
# timed (a shape taken from the set made the rate swing between sets): large enough to reach a
# BLAS's plateau on one thread, small enough to take well under a second on a 2-core CPU.
SQUARE_GEMM = {"cpu": 1024, "cuda": 8192}
QUICK_GEMM = 256  # --quick (smoke tests)


def gemm_shape(device: str, quick: bool = False) -> tuple[int, int, int]:
    """(M, K, N) of the GEMM that measures the rate of `device`."""
    n = QUICK_GEMM if quick else SQUARE_GEMM.get(device, 1024)
    return n, n, n
