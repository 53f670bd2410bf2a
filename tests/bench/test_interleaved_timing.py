"""Interleaved round-robin timing, the noise guard, bootstrap intervals of ratios and --threads
(fake clocks and fake loads: no wall-clock limit is asserted)."""
import os

import numpy as np
import pytest

from lstm_conformance.bench import confidence, interleave
from lstm_conformance.bench.threads import THREAD_VARIABLES, set_threads, using_threads


class FakeClock:
    """Each run advances the clock by its cost; a drift factor grows with every call."""

    def __init__(self):
        self.now, self.calls = 0.0, []

    def __call__(self):
        return self.now

    def run(self, name, cost, drift=0.0):
        def call():
            self.calls.append(name)
            self.now += cost * (1 + drift * len(self.calls))
        return call


def test_round_robin_alternates_the_order_every_round():
    clock = FakeClock()
    runs = {name: clock.run(name, 1.0) for name in "abc"}
    durations = interleave.round_robin(runs, 3, clock)
    assert clock.calls == list("abccbaabc")
    assert {k: len(v) for k, v in durations.items()} == {"a": 3, "b": 3, "c": 3}


def test_drift_hits_every_implementation_alike_so_the_ratio_holds():
    clock = FakeClock()
    runs = {"mine": clock.run("mine", 2.0, drift=0.05), "base": clock.run("base", 1.0, drift=0.05)}
    durations = interleave.round_robin(runs, 20, clock)
    ratio = np.median(durations["mine"]) / np.median(durations["base"])
    assert ratio == pytest.approx(2.0, rel=0.03)  # timed one after the other, the drift would give ~2.9


def test_plan_rounds_gives_each_implementation_about_max_time():
    assert interleave.plan_rounds({"a": 0.01, "b": 0.01}, max_time=1.0, min_rounds=5, max_rounds=300) == 100
    assert interleave.plan_rounds({"a": 1.0}, max_time=1.0, min_rounds=5, max_rounds=300) == 5
    assert interleave.plan_rounds({"a": 1e-9}, max_time=1.0, min_rounds=5, max_rounds=300) == 300


def test_noise_guard_names_the_load_and_the_spread():
    steady, spread_out = [1.0] * 8, [1.0, 1.0, 1.5, 1.5, 2.0, 2.0, 1.0, 1.2]
    assert interleave.judge({"a": steady}, load=0.5, n_cores=2).reliable
    noisy = interleave.judge({"a": steady, "b": spread_out}, load=3.5, n_cores=2)
    assert not noisy.reliable and len(noisy.reasons) == 2
    assert "load average 3.50 above the 2 cores" in noisy.reasons[0] and noisy.reasons[1].startswith("b: IQR")
    row = noisy.as_dict()
    assert interleave.row_reasons(row, "a", "a") == [noisy.reasons[0]]  # a's own rounds are steady
    assert interleave.row_reasons(dict(row, load_average_1min=1.0), "a", "b")[0].startswith("b: IQR")
    assert interleave.row_reasons(dict(row, load_average_1min=1.0), "a", "a") == []


def test_a_noisy_group_is_measured_again_within_the_budget_its_rounds_pooled():
    clock = FakeClock()
    costs = iter([1.0, 3.0] * 5 + [1.0] * 20)  # the first attempt spread out, then steady

    def run():
        clock.now += next(costs)
    durations, noise = interleave.measure_group({"a": run}, rounds=10, clock=clock, load=lambda: 0.0)
    assert noise.attempts == 3 and noise.reliable and len(durations["a"]) == 30  # 5 slow rounds of 30: IQR 0

    costs = iter([1.0, 3.0] * 5 + [1.0] * 20)
    _, budgeted = interleave.measure_group({"a": run}, rounds=10, clock=clock, load=lambda: 0.0, budget=1.5)
    assert budgeted.attempts == 2 and not budgeted.reliable  # the budget stops it after the second attempt

    always = {"a": lambda: setattr(clock, "now", clock.now + 1.0)}
    _, loaded = interleave.measure_group(always, rounds=4, clock=clock, load=lambda: 9.0, max_attempts=3)
    assert loaded.attempts == 3 and not loaded.reliable  # the load stays: measured 3 times, then marked


def test_the_bootstrap_interval_holds_the_ratio_and_pairing_removes_shared_noise():
    rng = np.random.default_rng(1)
    shared = rng.lognormal(0.0, 0.3, size=60)  # a neighbour's bursts hit both alike (interleaved rounds)
    base = 1e-3 * shared * rng.lognormal(0.0, 0.02, size=60)
    mine = 1.5e-3 * shared * rng.lognormal(0.0, 0.02, size=60)
    low, high = confidence.ratio_interval(mine, base)
    assert low < confidence.ratio_of(mine, base) < high and low < 1.5 < high and high - low < 0.03
    unpaired = confidence.ratio_interval(mine, base[:-1])  # different round counts: resampled apart
    assert unpaired[1] - unpaired[0] > 3 * (high - low)
    assert confidence.ratio_interval(mine, base) == (low, high)  # the same timings, the same interval
    assert confidence.ratio_interval([1.0, 2.0], [1.0, 2.0]) is None


def test_threads_are_set_for_torch_openblas_and_child_processes():
    import torch

    before = torch.get_num_threads()
    try:
        settings = set_threads(1)
        assert settings["threads"] == 1 and settings["torch_threads"] == torch.get_num_threads() == 1
        assert all(os.environ[v] == "1" for v in THREAD_VARIABLES)
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="--threads 0"):
        set_threads(0)


def test_the_callers_thread_settings_come_back_after_the_timings(monkeypatch):
    import torch

    from lstm_conformance.bench.blas import openblas_threads

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    blas_before = openblas_threads()
    with using_threads(1) as settings:
        assert settings["threads"] == 1 and torch.get_num_threads() == 1 and os.environ["MKL_NUM_THREADS"] == "1"
    assert torch.get_num_threads() == before and os.environ["OMP_NUM_THREADS"] == "2"
    assert "MKL_NUM_THREADS" not in os.environ and openblas_threads() == blas_before
