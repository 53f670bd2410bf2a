"""The `triton` adapter (our fused kernel): conformance through the runner, every work split,
16-bit storage, one launch per layer and direction, honest capabilities and skip reasons.

Without a GPU the kernel runs in Triton's CPU interpreter on torch CPU tensors: TRITON_INTERPRET
must be set before Triton decorates the kernels, so it is set here, before anything imports
them (it only affects Triton). With a GPU the same tests run the compiled kernel.
"""
import dataclasses
import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton")

from lstm_conformance.implementations.triton_lstm import (RESIDENT_BYTES, TritonLSTMAdapter,  # noqa: E402
                                                          environment_reason, plan_launch)
from lstm_conformance.harness.runner import run_case, run_suite  # noqa: E402

SMALL = ("toy-memory", "random/t5b3i4h7", "random/t20b4i16h32")
# Under the CPU interpreter the library tests run these checks; the consistency checks (86% of
# the interpreted time: they run the kernel again) run on one case below, and on the library
# with the compiled kernel (-m gpu).
INTERPRETED = not torch.cuda.is_available()
LIBRARY_CHECKS = ["forward", "errors", "dtypes"]


@pytest.fixture(scope="module")
def adapter():
    adapter = TritonLSTMAdapter()
    reason = adapter.skip_reason()
    if reason:
        pytest.skip(reason)
    return adapter


@pytest.fixture(scope="module")
def cases(library):
    return {c.id: c for c in library}


def _bad(records):
    return [f"{r['case']} [{r['dtype']}]: {r['status']}: {r['message']}" for r in records
            if r["status"] in ("fail", "error")]


def _small_cases(library):
    return [c for c in library if c.id.startswith(SMALL)]


def _option_cases(library):
    return [c for c in library if c.group in ("options", "layouts", "sizes", "errors", "states")
            and "long" not in c.id and (not c.id.startswith("size-grid/") or c.id == "size-grid/t11/b5/h17")]


@pytest.fixture(scope="module")
def small_records(adapter, library):
    """The small cases' records; the dtypes check also runs them in bfloat16 and float16 (the
    runner's extra half-precision runs), which the 16-bit test below reads."""
    return run_suite(_small_cases(library), [adapter], checks=LIBRARY_CHECKS)


def test_small_library_cases_conform(small_records):
    records = small_records
    assert not _bad(records), "\n".join(_bad(records))
    passed = {r["case"] for r in records if r["status"] == "pass"}
    assert "toy-memory-tanh" in passed and len(passed) >= 9
    reasons = {r["case"] + " " + r["dtype"]: r["message"] for r in records if r["status"] == "unsupported"}
    assert "fixed activations" in reasons["toy-memory-linear float32"]
    assert "no float64" in reasons["random/t5b3i4h7/bias/zero-state float64"]


def test_option_cases_conform_or_say_why(adapter, library):
    """Layers, bidirectional, batch_first and unbatched layouts, empty batches, invalid shapes."""
    records = run_suite(_option_cases(library), [adapter], ["float32"], checks=LIBRARY_CHECKS)
    assert not _bad(records), "\n".join(_bad(records))
    assert sum(r["status"] == "pass" for r in records) >= 20
    unsupported = {r["message"] for r in records if r["status"] == "unsupported"}
    assert any("projection" in m for m in unsupported) and all(unsupported)


def test_every_check_of_the_catalogue_on_one_case(adapter, cases):
    """The consistency checks (state chaining, batch independence, determinism, strides) run the
    kernel again on derived problems: under the interpreter, on one small case only."""
    records = run_suite([cases["random/t5b3i4h7/bias/given-state"]], [adapter], ["float32"])
    assert not _bad(records), "\n".join(_bad(records))
    passed = {r["check"] for r in records if r["status"] == "pass"}
    assert {"forward", "state-chaining", "batch-independence", "determinism", "strided"} <= passed
    assert all(r["message"] for r in records if r["status"] == "unsupported")


@pytest.mark.gpu
@pytest.mark.skipif(INTERPRETED, reason="no CUDA device: the interpreter runs the checks above")
def test_the_whole_catalogue_on_the_small_and_option_cases(adapter, library):
    records = run_suite(_small_cases(library), [adapter]) + run_suite(_option_cases(library), [adapter], ["float32"])
    assert not _bad(records), "\n".join(_bad(records))
    assert sum(r["status"] == "pass" for r in records) >= 100


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_16_bit_storage_with_float32_accumulation(small_records, dtype):
    for case_id in ("random/t5b3i4h7/bias/given-state", "random/t20b4i16h32/nobias/given-state"):
        # the dtypes check's run in this dtype: outputs of this dtype, within its tolerance of the reference
        runs = [r for r in small_records if r["case"] == case_id and r["dtype"] == dtype]
        assert [r["check"] for r in runs] == ["dtypes"], f"{case_id}: no {dtype} run of the dtypes check"
        record = runs[0]
        assert record["status"] == "pass", record["message"]
        assert set(record["output_dtypes"].values()) == {dtype}
        assert {c["output"] for c in record["outputs"] if c["passed"]} >= {"y", "h_n", "c_n"}


@pytest.mark.parametrize("options", [
    {"hidden_blocks": 2, "steps_per_launch": 1},  # units split over programs, a launch per step
    {"w_resident": False, "block_k": 16},  # W_hh streamed in 16-column chunks
    {"hidden_blocks": 4, "steps_per_launch": 1, "w_resident": False, "block_k": 16},
    {"steps_per_launch": 7},  # the state carried across launches
])
def test_every_work_split_gives_the_reference_results(adapter, cases, options):
    split = TritonLSTMAdapter(**options)
    for case_id in ("random/t20b4i16h32/bias/given-state", "random/t50b8i64h64/nobias/given-state"):
        case = cases[case_id]
        if INTERPRETED and (options.get("steps_per_launch") == 1 or case.shape["seq_len"] == 50):
            # 8 steps run the same code as 50 (H = 64 keeps the 4 blocks of units and the 4
            # chunks of W_hh; steps_per_launch 7 still carries the state into a second launch,
            # and into a third in the T = 20 case); the interpreter takes seconds per 10 launches
            case = dataclasses.replace(case, shape={**case.shape, "seq_len": min(8, case.shape["seq_len"])})
        record = run_case(case, "float32", split)
        assert record["status"] == "pass", f"{options} {case_id}: {record['message']}"


def test_one_launch_per_layer_and_direction(adapter):
    from lstm_conformance.bench import parse_shape
    counting = TritonLSTMAdapter()
    record = run_case(parse_shape("t6b3i4h8l2bi"), "float32", counting)  # 2 layers, bidirectional
    assert record["status"] == "pass", record["message"]
    assert counting.launches == 2 * 2


def test_the_interpreter_refuses_a_grid_barrier_it_cannot_run():
    if torch.cuda.is_available():
        pytest.skip("checks the interpreter's plan")
    with pytest.raises(ValueError, match="hidden_blocks=2 needs steps_per_launch=1"):
        plan_launch(T=10, B=4, H=64, elem_bytes=4, interpreted=True, multiprocessors=1, hidden_blocks=2)


def test_gpu_plan_spreads_the_weights_and_keeps_them_resident_when_they_fit():
    plan = plan_launch(T=150, B=4, H=1024, elem_bytes=2, interpreted=False, multiprocessors=132)
    assert plan.grid[0] * plan.grid[1] <= 132 and plan.steps_per_launch == 150
    assert plan.block_h * plan.hidden_blocks >= 1024 and plan.w_resident
    assert 4 * plan.h_pad * plan.block_h * 2 <= RESIDENT_BYTES
    big = plan_launch(T=25, B=128, H=4096, elem_bytes=4, interpreted=False, multiprocessors=132)
    assert not big.w_resident and big.grid[0] * big.grid[1] <= 132
    with pytest.raises(ValueError, match="H must be at least 1"):
        plan_launch(T=1, B=1, H=0, elem_bytes=4, interpreted=False, multiprocessors=1)


def test_skip_reasons_name_the_missing_piece():
    assert "Triton is not installed" in environment_reason(False, False, False)
    assert "TRITON_INTERPRET=1" in environment_reason(True, False, False)
    assert environment_reason(True, True, False) is None and environment_reason(True, False, True) is None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_persistent_kernel_with_a_grid_barrier_on_a_gpu(cases):
    """The whole sequence in one launch with the units split over programs (grid barrier)."""
    for options in ({"hidden_blocks": 4}, {}):
        record = run_case(cases["random/t50b8i64h64/bias/given-state"], "float32", TritonLSTMAdapter(**options))
        assert record["status"] == "pass", f"{options}: {record['message']}"
