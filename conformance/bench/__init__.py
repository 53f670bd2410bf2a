"""Speed measurement: shapes (shapes.py), the named sets of spec/benchmarks.yaml (sets.py), the
FLOP model and the GEMMs that measure the machine's rate (flops.py), the golden reference as a
timing target (reference_timing.py), the pytest-benchmark session (timing.py, over
session/timed_tests.py) and the speed records it yields (records.py).

Modes: `forward` times `adapter.prepare(problem)()`; `training` times the callable of the
optional `adapter.prepare_training(problem)`: forward, then backward of sum(y) (see adapter.py).
The timing session is not imported here, so that importing the package does not load pytest.
"""
from .flops import SQUARE_GEMM, TRAINING_FLOP_FACTOR, forward_flops, gemm_shape, mode_flops
from .records import adapter_device, gemm_rates, ratio_summary, speed_records
from .reference_timing import BENCH_ONLY, ReferenceTiming, bench_only_adapter
from .sets import BASELINE, MAX_ROUNDS, MODES, SET_SCHEMA, BenchSet, benchmark_set, expand_product, load_sets, \
    plan_run, shapes_of_set
from .threads import DEFAULT_THREADS, set_threads, using_threads
from .shapes import SHAPE_PATTERN, batch_sweep, parse_shape, y_shape

__all__ = ["BASELINE", "BENCH_ONLY", "DEFAULT_THREADS", "MAX_ROUNDS", "MODES", "SET_SCHEMA", "SHAPE_PATTERN",
           "SQUARE_GEMM", "TRAINING_FLOP_FACTOR", "BenchSet", "ReferenceTiming", "adapter_device", "batch_sweep",
           "bench_only_adapter", "benchmark_set", "expand_product", "forward_flops", "gemm_rates", "gemm_shape",
           "load_sets", "mode_flops", "parse_shape", "plan_run", "ratio_summary", "set_threads", "shapes_of_set",
           "speed_records", "using_threads", "y_shape"]
