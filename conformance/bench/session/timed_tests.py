"""The benchmark 'tests' that pytest-benchmark times; parametrised by bench._BenchPlugin.

test_gemm_rate_before and test_gemm_rate_after measure, before and after the implementations,
the matrix-multiply rate the speed tables compare the achieved GFLOP/s with: one fixed shape
per device, the best of several rounds.

test_lstm_speed: the implementations of one shape × mode × dtype are timed together,
round-robin, by the plugin (bench/interleave.py) when the first of them is asked for; each
test then gives its own rounds to pytest-benchmark through a clock that replays them, so that
pytest-benchmark's statistics and JSON stay the output. Preparation (layout conversion, device
transfer) and one call are untimed; the rounds time only the callable of prepare().
"""
import time

import numpy as np
import pytest


class ReplayClock:
    """A timer for pytest-benchmark that replays measured durations: the i-th pair of readings
    (start, end of round i) differs by the i-th duration."""

    __name__ = "round-robin rounds (lstm_conformance.bench.interleave)"

    def __init__(self, durations):
        self.durations, self.readings, self.now = list(durations), 0, 0.0

    def __call__(self) -> float:
        if self.readings % 2:
            self.now += self.durations[self.readings // 2]
        else:
            self.now += 1.0  # between rounds: not part of any duration
        self.readings += 1
        return self.now


def replay(benchmark, durations) -> None:
    """Give pytest-benchmark these rounds as if it had timed them."""
    if not hasattr(benchmark, "_timer"):
        raise RuntimeError("this pytest-benchmark version has no BenchmarkFixture._timer; "
                           "lstm-conformance's interleaved timing needs it")
    benchmark._timer = ReplayClock(durations)
    benchmark.pedantic(lambda: None, rounds=len(durations), iterations=1, warmup_rounds=0)


def _timed(benchmark, run, plugin):
    started = time.perf_counter()
    run()  # a call outside the timing: lazy initialisation, caches
    one_call = max(time.perf_counter() - started, 1e-7)
    rounds = max(plugin.min_rounds, min(plugin.max_rounds, int(plugin.max_time / one_call)))
    benchmark.extra_info["rounds_planned"] = rounds
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=0)


def _gemm(benchmark, gemm_bench, plugin, when):
    import torch

    dtype, device, library, m, k, n = gemm_bench
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    generator = torch.Generator().manual_seed(0)
    a = torch.rand((m, k), generator=generator, dtype=torch.float32) - 0.5
    b = torch.rand((k, n), generator=generator, dtype=torch.float32) - 0.5
    if library == "numpy":
        a_np, b_np = a.numpy().astype(dtype), b.numpy().astype(dtype)
        out = np.empty((m, n), dtype=dtype)

        def run():
            np.matmul(a_np, b_np, out=out)
    else:
        torch_dtype = getattr(torch, dtype)
        a_t, b_t = a.to(device, torch_dtype), b.to(device, torch_dtype)
        out_t = torch.empty((m, n), dtype=torch_dtype, device=device)
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

        def run():
            torch.matmul(a_t, b_t, out=out_t)
            sync()
    run()
    benchmark.extra_info.update(kind="gemm", when=when, dtype=dtype, device=device, library=library, m=m, k=k, n=n)
    _timed(benchmark, run, plugin)


def test_gemm_rate_before(benchmark, gemm_bench, lstm_bench_plugin):
    _gemm(benchmark, gemm_bench, lstm_bench_plugin, "before")


def test_lstm_speed(benchmark, lstm_bench, lstm_bench_plugin):
    shape, mode, dtype, index = lstm_bench
    plugin = lstm_bench_plugin
    name = plugin.adapters[index].name
    group = plugin.group(shape, mode, dtype)
    if name not in group["durations"]:
        pytest.skip(plugin.skipped.get((shape, mode, dtype, name), "not timed"))
    noise = group["noise"]
    benchmark.extra_info.update(kind="lstm", shape=shape, mode=mode, dtype=dtype, impl=name,
                                interleaved_with=sorted(group["durations"]), noise=noise.as_dict())
    replay(benchmark, group["durations"][name])


def test_gemm_rate_after(benchmark, gemm_bench, lstm_bench_plugin):
    _gemm(benchmark, gemm_bench, lstm_bench_plugin, "after")
