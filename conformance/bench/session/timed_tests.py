"""The benchmark 'tests' that pytest-benchmark times; parametrised by bench._BenchPlugin.

Preparation (layout conversion, device transfer) happens before `benchmark(...)`, untimed;
the callable returned by prepare() (or prepare_training()) does only the computation,
synchronising the device. test_gemm_rate measures, in the same session, the matrix-multiply
rate the speed tables compare the achieved GFLOP/s with.

Rounds are fixed before timing from one untimed call (pytest-benchmark's pedantic mode):
its own calibration takes the fastest call it sees, and on a busy machine, where later calls
are many times slower, that made a run last minutes instead of seconds.
"""
import time

import numpy as np
import pytest

from lstm_conformance.adapter import prepared_callable
from lstm_conformance.bench import parse_shape
from lstm_conformance.spec.materialize import materialize


def _timed(benchmark, run, plugin):
    started = time.perf_counter()
    run()  # a call outside the timing: lazy initialisation, autotuning, compilation, caches
    one_call = max(time.perf_counter() - started, 1e-7)
    rounds = max(plugin.min_rounds, min(plugin.max_rounds, int(plugin.max_time / one_call)))
    benchmark.extra_info["rounds_planned"] = rounds
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=0)


def test_gemm_rate(benchmark, gemm_bench, lstm_bench_plugin):
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
    benchmark.extra_info.update(kind="gemm", dtype=dtype, device=device, library=library, m=m, k=k, n=n)
    _timed(benchmark, run, lstm_bench_plugin)


def test_lstm_speed(benchmark, lstm_bench, lstm_bench_plugin):
    shape, mode, dtype, index = lstm_bench
    plugin = lstm_bench_plugin
    case, adapter = parse_shape(shape), plugin.adapters[index]
    problem = materialize(case, dtype)
    reason = adapter.skip_reason() or adapter.unsupported_reason(problem)
    if reason:
        plugin.skipped[(case.id, mode, dtype, adapter.name)] = reason
        pytest.skip(reason)
    run = prepared_callable(adapter, problem) if mode == "forward" else adapter.prepare_training(problem)
    if run is None:  # the base class's prepare_training: not available
        reason = f"{adapter.name} has no timed forward+backward"
        plugin.skipped[(case.id, mode, dtype, adapter.name)] = reason
        pytest.skip(reason)
    run()  # first call outside the timing: lazy initialisation, autotuning, compilation
    benchmark.extra_info.update(kind="lstm", shape=case.id, mode=mode, dtype=dtype, impl=adapter.name)
    _timed(benchmark, run, plugin)
