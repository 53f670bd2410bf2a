"""The benchmark 'test' that pytest-benchmark times; parametrised by bench._BenchPlugin.

Preparation (layout conversion, device transfer) happens before `benchmark(...)`, untimed;
the callable returned by prepare() does only the computation, synchronising the device.
"""
import pytest

from lstm_conformance.bench import parse_shape
from lstm_conformance.spec.materialize import materialize


def test_lstm_speed(benchmark, lstm_bench, lstm_bench_plugin):
    shape, index = lstm_bench
    plugin = lstm_bench_plugin
    case, adapter, dtype = parse_shape(shape), plugin.adapters[index], plugin.dtype
    reason = adapter.skip_reason()
    problem = materialize(case, dtype)
    reason = reason or adapter.unsupported_reason(problem)
    if reason:
        plugin.skipped[(case.id, adapter.name)] = reason
        pytest.skip(reason)
    run = adapter.prepare(problem)
    run()  # first call outside the timing: lazy initialisation, autotuning
    benchmark.extra_info.update(shape=case.id, impl=adapter.name, dtype=dtype)
    benchmark(run)
