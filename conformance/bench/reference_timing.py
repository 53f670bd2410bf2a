"""The golden reference as a timing target of the benchmarks (`--impl reference`)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..adapter import FEATURES, Adapter, Capabilities
from ..reference import lstm_backward, lstm_forward
from .shapes import y_shape


class ReferenceTiming(Adapter):
    """The float64 golden reference as a timing target (bench only: it is what every adapter is
    compared with, so it is not an implementation under test). Training: lstm_backward, which
    re-runs the forward pass keeping its steps, with upstream gradient ones for y."""

    name = "reference"
    description = "float64 NumPy golden reference (reference/forward.py, backward.py)"

    def capabilities(self):
        return Capabilities(dtypes={"float64"}, features=set(FEATURES), activations=None, gradients=True,
                            reasons={"dtype": "the reference computes in float64 only"})

    def prepare(self, problem):
        p = problem
        return lambda: lstm_forward(p.config, p.x, p.params, p.h0, p.c0, p.lengths)

    def prepare_training(self, problem):
        p = problem
        ones = np.ones(y_shape(p))
        return lambda: lstm_backward(p.config, p.x, p.params, p.h0, p.c0, p.lengths, grad_y=ones)


BENCH_ONLY = {"reference": ReferenceTiming}


def bench_only_adapter(name: str) -> Optional[Adapter]:
    """A timing target that exists only in the benchmarks (e.g. "reference"), or None."""
    return BENCH_ONLY[name]() if name in BENCH_ONLY else None
