"""spec/benchmarks.yaml as data: the sets the issue asks for, products, and clear errors."""
import itertools

import pytest

from lstm_conformance import bench
from lstm_conformance.bench import (BenchSet, benchmark_set, expand_product, forward_flops,
                                    gemm_shape, load_sets, mode_flops, parse_shape, plan_run)
from lstm_conformance.bench.sets import _parse_set

CPU_ADAPTERS = {"numpy", "torch-cell", "torch-lstm"}


def _dims(shape):
    case = parse_shape(shape)
    return case.shape["seq_len"], case.shape["batch"], case.shape["input_size"], case.shape["hidden_size"]


def test_every_set_parses_and_its_shapes_are_valid():
    sets = load_sets()
    assert {"ci", "cpu", "cpu-full", "gpu", "gpu-small-batch"} <= set(sets)
    for chosen in sets.values():
        assert chosen.shapes and chosen.about
        assert set(chosen.modes) <= set(bench.MODES)


def test_ci_times_every_cpu_adapter_forward_and_training():
    ci = benchmark_set("ci")
    assert set(ci.modes) == {"forward", "training"}
    assert set(ci.impls) == CPU_ADAPTERS and ci.baseline == "torch-lstm"


def test_cpu_is_a_deepbench_style_subset_covering_every_value():
    cpu = benchmark_set("cpu")
    dims = [_dims(s) for s in cpu.shapes]
    assert all(i == h for _, _, i, h in dims), "I = H"
    assert {h for *_, h in dims} == {256, 512, 1024}
    assert {b for _, b, _, _ in dims} == {1, 4, 16, 64}
    assert {t for t, *_ in dims} == {25, 50, 150}
    assert {"float32", "float64"} <= set(cpu.dtypes) and {"numpy", "torch-lstm", "reference"} <= set(cpu.impls)


def test_cpu_full_is_the_whole_product():
    full = {_dims(s) for s in benchmark_set("cpu-full").shapes}
    assert full == {(t, b, h, h) for t, b, h in itertools.product((25, 50, 150), (1, 4, 16, 64), (256, 512, 1024))}


def test_gpu_holds_deepbench_lstm_shapes_against_cudnn():
    gpu = benchmark_set("gpu")
    dims = [_dims(s) for s in gpu.shapes]
    assert all(i == h and 256 <= h <= 4096 and 1 <= b <= 128 and 25 <= t <= 150 for t, b, i, h in dims)
    assert (25, 128, 4096, 4096) in dims and (150, 1, 256, 256) in dims  # training and inference-server extremes
    assert set(gpu.modes) == {"forward", "training"} and gpu.baseline == "cuda" and "triton" in gpu.impls
    small = [_dims(s) for s in benchmark_set("gpu-small-batch").shapes]
    assert all(b <= 16 and 256 <= h <= 1024 and t >= 100 for t, b, _, h in small)


def test_product_expands_every_combination_with_i_equal_h_or_listed():
    assert expand_product({"t": [5], "b": [1, 2], "h": [8]}, "x") == ["t5b1i8h8", "t5b2i8h8"]
    assert expand_product({"t": [5], "b": [1], "h": [8], "i": [3, 4]}, "x") == ["t5b1i3h8", "t5b1i4h8"]
    with pytest.raises(ValueError, match="set demo: product needs lists t, b, h"):
        expand_product({"t": [5], "h": [8]}, "benchmarks.yaml, set demo")


@pytest.mark.parametrize("entry, words", [
    ({"shapes": ["t1b1i1h1"], "colour": "red"}, "unknown keys ['colour']"),
    ({"shapes": ["t1b1i1h1"], "modes": ["backward"]}, "unknown modes ['backward']"),
    ({"about": "nothing"}, "no shapes"),
    ({"shapes": ["t1b1"]}, "expected t<T>b<B>i<I>h<H>"),
    # types are checked against the set schema, with the key path
    ({"shapes": "t1b1i1h1"}, "shapes: 't1b1i1h1' is not of type 'array'"),
    ({"shapes": ["t1b1i1h1"], "max_time": -1}, "max_time: -1 is less than or equal to the minimum of 0"),
    ({"shapes": ["t1b1i1h1"], "dtypes": ["float8"]}, "dtypes.0: 'float8' is not one of"),
])
def test_a_bad_set_is_rejected_naming_the_set(entry, words):
    with pytest.raises(ValueError) as info:
        _parse_set("demo", entry)
    assert words in str(info.value)
    if "t1b1" not in str(info.value):
        assert "set demo" in str(info.value)


def test_plan_run_overrides_the_set_and_rejects_bad_values():
    plan = plan_run("ci", shapes=["t3b2i4h5"], modes=["training"], dtypes=["float64"], impls=["reference"])
    assert plan == BenchSet(name="--shapes", about="shapes from the command line", shapes=("t3b2i4h5",),
                            dtypes=("float64",), modes=("training",), impls=("reference",))
    assert plan_run("cpu").impls == benchmark_set("cpu").impls
    with pytest.raises(ValueError, match="--mode backward"):
        plan_run("ci", modes=["backward"])
    with pytest.raises(ValueError, match="--dtype float8"):
        plan_run("ci", dtypes=["float8"])
    with pytest.raises(ValueError, match="unknown benchmark set"):
        plan_run("huge")


def test_flops_follow_the_stated_formula():
    # 2·T·B·4H·(I + H) per layer and direction; layer 2 of a bidirectional stack sees I = 2H
    assert forward_flops(parse_shape("t10b2i3h5")) == 2 * 10 * 2 * 20 * (3 + 5)
    assert forward_flops(parse_shape("t10b2i3h5l2bi")) == 2 * (2 * 10 * 2 * 20 * (3 + 5) + 2 * 10 * 2 * 20 * (10 + 5))
    assert mode_flops(parse_shape("t10b2i3h5"), "training") == 3 * mode_flops(parse_shape("t10b2i3h5"), "forward")


def test_the_gemm_rate_is_measured_on_one_fixed_shape_per_device():
    assert gemm_shape("cpu") == (1024, 1024, 1024) and gemm_shape("cuda") == (8192, 8192, 8192)
    assert gemm_shape("cpu", quick=True) == (256, 256, 256)
