"""Interleaved timing and the noise guard.

The implementations of one shape are timed round-robin, round by round (A B C, C B A, A B C,
...), so that drift and a neighbour's burst hit all of them alike and their ratio stays put
even when the absolute times move. A group whose rounds are too spread (IQR / median above
NOISE_LIMIT for any implementation) or that ran on an overloaded machine (1-minute load
average above the core count) is measured again, within a budget, its rounds pooled; if it
stays noisy, its rows are marked unreliable: shown in the tables, never gated by `compare`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from statistics import median, quantiles
from typing import Callable, Optional

NOISE_LIMIT = 0.10  # IQR / median above which a row's rounds are too spread to trust
MAX_ATTEMPTS = 3  # the first measurement and at most two more for a noisy group
REMEASURE_BUDGET = 3.0  # a noisy group is measured again only while its attempts took < this × the first


def round_robin(runs: dict[str, Callable[[], object]], rounds: int,
                clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Seconds of each call of each run, `rounds` rounds, every run once per round; the order
    alternates between rounds so that no run always follows the same neighbour."""
    durations: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for number in range(rounds):
        for name in (names if number % 2 == 0 else names[::-1]):
            started = clock()
            runs[name]()
            durations[name].append(clock() - started)
    return durations


def plan_rounds(one_call: dict[str, float], max_time: float, min_rounds: int, max_rounds: int) -> int:
    """Rounds so that the group takes about max_time per implementation, within the bounds."""
    per_round = max(sum(one_call.values()), 1e-7)
    return max(min_rounds, min(max_rounds, int(max_time * len(one_call) / per_round)))


def spread(durations: list[float]) -> float:
    """IQR / median of one run's rounds (0 for fewer than two rounds)."""
    if len(durations) < 2:
        return 0.0
    q1, _, q3 = quantiles(durations, n=4, method="inclusive")
    middle = median(durations)
    return (q3 - q1) / middle if middle > 0 else 0.0


def load_average() -> Optional[float]:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass
class Noise:
    """The noise guard's verdict on one group's measurement."""

    spread: dict  # name -> IQR / median
    load: Optional[float]
    cores: int
    attempts: int = 1
    limit: float = NOISE_LIMIT
    reasons: list = field(default_factory=list)

    @property
    def reliable(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict:
        return {"reliable": self.reliable, "reasons": list(self.reasons), "attempts": self.attempts, "limit": self.limit,
                "load_average_1min": None if self.load is None else round(self.load, 2), "cores": self.cores,
                "spread": {k: round(v, 4) for k, v in self.spread.items()}}


def judge(durations: dict[str, list[float]], load: Optional[float], n_cores: int, limit: float = NOISE_LIMIT) -> Noise:
    noise = Noise(spread={name: spread(d) for name, d in durations.items()}, load=load, cores=n_cores, limit=limit)
    if load is not None and load > n_cores:
        noise.reasons.append(f"load average {load:.2f} above the {n_cores} cores")
    for name, value in noise.spread.items():
        if value > limit:
            noise.reasons.append(f"{name}: IQR {value:.0%} of the median (limit {limit:.0%})")
    return noise


def measure_group(runs: dict[str, Callable[[], object]], rounds: int, limit: float = NOISE_LIMIT,
                  max_attempts: int = MAX_ATTEMPTS, budget: float = REMEASURE_BUDGET,
                  clock: Callable[[], float] = time.perf_counter,
                  load: Callable[[], Optional[float]] = load_average) -> tuple[dict, Noise]:
    """Round-robin timings of a group and the noise verdict. A noisy group is measured again
    (at most max_attempts in all, and only while the attempts so far took less than `budget`
    times the first); the rounds of every attempt are pooled (they stay paired round by round,
    and more rounds narrow the ratios' intervals), and the verdict is on the pool."""
    pooled: dict[str, list[float]] = {name: [] for name in runs}
    first_took, spent, noise = None, 0.0, None
    for attempt in range(1, max_attempts + 1):
        started = clock()
        for name, durations in round_robin(runs, rounds, clock).items():
            pooled[name] += durations
        took = clock() - started
        first_took = took if first_took is None else first_took
        spent += took
        noise = judge(pooled, load(), cores(), limit)
        noise.attempts = attempt
        if noise.reliable or spent >= budget * first_took:
            break
    return pooled, noise


def row_reasons(noise: dict, impl: str, baseline: str) -> list[str]:
    """Why one row (an implementation's time and its ratio to the baseline) is unreliable, from
    its group's Noise.as_dict(): the load, or its own or the baseline's spread; [] when reliable."""
    reasons = []
    load, n_cores, limit = noise.get("load_average_1min"), noise.get("cores", 1), noise.get("limit", NOISE_LIMIT)
    if load is not None and load > n_cores:
        reasons.append(f"load average {load:.2f} above the {n_cores} cores")
    for name in dict.fromkeys((impl, baseline)):
        value = (noise.get("spread") or {}).get(name)
        if value is not None and value > limit:
            reasons.append(f"{name}: IQR {value:.0%} of the median (limit {limit:.0%})")
    return reasons
