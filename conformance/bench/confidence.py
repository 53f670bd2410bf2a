"""Bootstrap confidence intervals of speed ratios (compare.change_interval combines two runs').

The rounds of a group are interleaved (interleave.py), so round i of an implementation and
round i of the timing baseline ran side by side: the bootstrap resamples round indices in pairs,
which keeps what the two shared (a neighbour's burst) out of the ratio's spread.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
SEED = 0  # the same timings give the same interval


def paired(times: Sequence[float], baseline: Sequence[float]) -> bool:
    """Whether the rounds pair up (the same count: timed round-robin in one group)."""
    return len(times) == len(baseline)


def ratio_of(times: Sequence[float], baseline: Sequence[float]) -> float:
    """The speed ratio: the median over rounds of time / the baseline's time in the same round
    when the rounds pair up (a burst that slows both cancels), else median / median."""
    a, b = np.asarray(times, dtype=float), np.asarray(baseline, dtype=float)
    if paired(a, b):
        return float(np.median(a / b))
    return float(np.median(a) / np.median(b))


def ratio_interval(times: Sequence[float], baseline: Sequence[float], resamples: int = RESAMPLES,
                   level: float = LEVEL) -> Optional[tuple[float, float]]:
    """The bootstrap `level` interval of ratio_of(times, baseline): round indices resampled in
    pairs when the rounds pair up, else each side on its own. None with fewer than 3 rounds."""
    a, b = np.asarray(times, dtype=float), np.asarray(baseline, dtype=float)
    if a.size < 3 or b.size < 3 or not (np.all(a > 0) and np.all(b > 0)):
        return None
    rng = np.random.default_rng(SEED)
    if paired(a, b):
        per_round = a / b
        ratios = np.median(per_round[rng.integers(0, a.size, size=(resamples, a.size))], axis=1)
    else:
        ratios = (np.median(a[rng.integers(0, a.size, size=(resamples, a.size))], axis=1) /
                  np.median(b[rng.integers(0, b.size, size=(resamples, b.size))], axis=1))
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(low), float(high)
