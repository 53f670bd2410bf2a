"""Benchmark runs end to end (tiny shapes, few rounds; no wall-clock limits asserted), the timed
forward+backward callables, and the `bench` command."""
import json

import numpy as np
import pytest

from fixtures.adapters import ForwardOnly
from fixtures.cpu_info_once import cpu_info_once  # noqa: F401 - an autouse fixture

from lstm_conformance.bench import ReferenceTiming, parse_shape
from lstm_conformance.bench import timing
from lstm_conformance.bench.timing import run_benchmarks
from lstm_conformance.cli import main
from lstm_conformance.reference import lstm_backward
from lstm_conformance.harness.registry import load_adapter
from lstm_conformance.spec.materialize import materialize


def test_run_benchmarks_times_modes_dtypes_and_the_gemm_in_one_session(tmp_path):
    adapters = [load_adapter("numpy"), load_adapter("torch-lstm"), ReferenceTiming(), ForwardOnly()]
    records = run_benchmarks(adapters, ["t4b2i3h5"], ["float32", "float64"], tmp_path / "benchmark.json",
                             quick=True, modes=["forward", "training"], max_time=0.01)
    by = {(r["mode"], r["dtype"], r["impl"]): r for r in records}
    assert len(records) == 2 * 2 * 4
    assert by[("forward", "float32", "torch-lstm")]["ratio"] == 1.0
    assert by[("training", "float64", "reference")]["status"] == "ok"
    assert by[("training", "float64", "reference")]["ratio"] > 0
    assert by[("training", "float32", "numpy")]["status"] == "ok"
    assert by[("training", "float32", "forward-only")]["status"] == "not measured"
    assert "forward-only has no timed forward+backward" in by[("training", "float32", "forward-only")]["message"]
    assert by[("forward", "float32", "reference")]["message"] == "the reference computes in float64 only"
    measured = [r for r in records if r["status"] == "ok"]
    # numpy and torch-lstm: 2 modes × 2 dtypes; reference: float64 × 2 modes; forward-only: forward × 2 dtypes
    assert len(measured) == 12
    for r in measured:
        assert r["rounds"] >= 3 and r["median"] > 0 and r["conditions"]["torch_threads"] >= 1
        assert r["gemm"]["gflops"] > 0 and r["gemm_share"] == pytest.approx(r["gflops"] / r["gemm"]["gflops"])
        assert r["conditions"]["threads"] == 1 and r["conditions"]["OMP_NUM_THREADS"] == "1"  # --threads default
        assert r["gemm"]["before"] > 0 and r["gemm"]["after"] > 0  # measured before and after the timings
        assert isinstance(r["reliable"], bool) and r["noise"]["attempts"] >= 1  # the noise guard's verdict
    numpy = by[("forward", "float32", "numpy")]
    assert numpy["ratio_ci"][0] <= numpy["ratio"] <= numpy["ratio_ci"][1]
    timed = json.loads((tmp_path / "benchmark.json").read_text())["benchmarks"]  # pytest-benchmark's JSON
    rounds = {b["extra_info"]["impl"]: b["stats"]["rounds"] for b in timed
              if b["extra_info"].get("kind") == "lstm" and b["extra_info"]["shape"] == "t4b2i3h5"
              and b["extra_info"]["mode"] == "forward" and b["extra_info"]["dtype"] == "float32"}
    assert len(set(rounds.values())) == 1  # timed round-robin: every implementation of a group, every round


class InterruptedWhileTimed(ForwardOnly):
    """Ctrl-C arriving while a benchmark runs (pytest catches it inside its own session)."""
    name = "interrupted"

    def prepare(self, problem):
        calls = []

        def run():
            calls.append(1)
            if len(calls) > 1:  # the first call is the untimed warm-up
                raise KeyboardInterrupt
        return run


def test_ctrl_c_during_a_benchmark_is_an_interrupt_not_a_failure(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_benchmarks([InterruptedWhileTimed()], ["t2b1i2h2"], "float32", tmp_path / "benchmark.json", quick=True,
                       max_time=0.01)


@pytest.mark.parametrize("impl, x_index, w_hh_index", [("torch-lstm", 0, 2), ("torch-cell", 0, 4)])
def test_training_callable_returns_the_gradients_of_sum_y(impl, x_index, w_hh_index):
    problem = materialize(parse_shape("t4b2i3h5"), "float64")  # with h0 and c0
    grads = load_adapter(impl).prepare_training(problem)()
    cfg = problem.config
    ones = np.ones((4, 2, 5))
    expected = lstm_backward(cfg, problem.x, problem.params, problem.h0, problem.c0, grad_y=ones)
    np.testing.assert_allclose(grads[x_index].detach().numpy(), expected["x"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[w_hh_index].detach().numpy(), expected["weight_hh_l0"], rtol=1e-10, atol=1e-12)


def test_bench_command_times_the_reference_training_in_float64(tmp_path, capsys, monkeypatch):
    # the command's own session, with 0.01 s of timed rounds per benchmark (as the test above)
    # instead of --quick's 0.2 s: what is judged here is what the command times and writes
    calls = []

    def short_timings(*args, **kwargs):
        calls.append(kwargs)
        return run_benchmarks(*args, **{**kwargs, "max_time": 0.01})

    monkeypatch.setattr(timing, "run_benchmarks", short_timings)
    argv = ["bench", "--shapes", "t3b2i4h5", "--impl", "torch-lstm", "--impl", "reference", "--dtype", "float64",
            "--mode", "training", "--quick", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert [(c["quick"], c["modes"]) for c in calls] == [(True, ("training",))]
    text = (tmp_path / "speed.md").read_text()
    row = next(line for line in text.splitlines() if "| reference" in line)
    assert [c.strip() for c in row.strip("|").split("|")][1:3] == ["training", "float64"]
    assert (tmp_path / "benchmark.json").is_file() and "Matrix-multiply rate" in text


@pytest.mark.parametrize("argv, words", [
    (["bench", "--mode", "backward"], "--mode backward"),
    (["bench", "--dtype", "float8"], "--dtype float8"),
])
def test_bench_usage_errors_exit_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err
