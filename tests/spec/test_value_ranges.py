"""Every value the schema admits but NumPy or the reference cannot use is a SpecError naming
file, case and key path, never an exception from a library (what the issue's fuzzing found:
OverflowError from NumPy's generator, MemoryError from materialize and spec/model.py)."""
import pytest

from lstm_conformance.spec.loader import MAX_CASES, MAX_NODES, SpecError, load_text

FILE = "ranges.yaml"
SHAPE = "shape: {seq_len: 2, batch: 1, input_size: 1, hidden_size: 2}"


def load(extra, shape=SHAPE):
    return load_text(f"cases:\n  - id: a\n    about: x\n    {shape}\n    {extra}\n", FILE)


@pytest.mark.parametrize("extra, key, words", [
    ("inputs: {x: {uniform: [-1.0e+308, 1.0e+308]}}", "inputs.x.uniform", "overflows"),
    ("inputs: {x: {uniform: [0, .inf]}}", "inputs.x.uniform", "finite"),
    ("inputs: {x: {uniform: [.nan, 1]}}", "inputs.x.uniform", "finite"),
    ("inputs: {x: {uniform: [2, 1]}}", "inputs.x.uniform", "low must not exceed high"),
    ("parameters: {'*': {normal: [0, -1]}}", "parameters.*.normal", "std >= 0"),
    ("parameters: {'*': {normal: [0, .inf]}}", "parameters.*.normal", "finite"),
    ("parameters: {'*': {normal: [-.inf, 1]}}", "parameters.*.normal", "finite"),
    ("parameters: {'weight_*': {uniform: [0, 1], block_scale: [1, .inf, 1, 1]}}", "parameters.weight_*.block_scale", "finite"),
    (f"inputs: {{x: {{fill: {10**400}}}}}", "inputs.x.fill", "too large for float64"),
    (f"inputs: {{x: {{literal: [[[1]], [[{10**400}]]]}}}}", "inputs.x.literal[1][0][0]", "too large"),
    (f"expect: [{{output: y, values: [1, {10**400}]}}]", "expect[0].values[1]", "too large"),
    ("expect: [{output: y, values: [1, 2], round: 1000000000000000000000}]", "expect[0].round", "at most 30"),
    ("expect: [{output: y, values: [1, 2], atol: .inf}]", "expect[0].atol", "finite"),
    ("options: {cell_clip: .inf}", "options.cell_clip", "finite"),
    ("options: {forget_bias: .nan}", "options.forget_bias", "finite"),
    (f"options: {{activations: {{cell: {{name: affine, alpha: {10**400}}}}}}}", "options.activations.cell.alpha", "finite"),
    ("options: {num_layers: 2147483648}", "options.num_layers", "more than 1024 layers"),
    ("options: {proj_size: 9223372036854775808}", "options.proj_size", "larger than"),
    ("options: {proj_size: 2}", "options.proj_size", "smaller than hidden_size"),
    ("options: {batch_first: true, unbatched: true}", "options", "exclude each other"),
    ("seed: 18446744073709551616", "seed", "larger than"),
    ("expect_error: x\n    inputs: {lengths: [9223372036854775808]}", "inputs.lengths[0]", "64-bit"),
    ("expect_error: x\n    inputs: {x: {uniform: [0, 1], shape: [" + ", ".join(["1"] * 33) + "]}}", "inputs.x.shape",
     "more than 32 dimensions"),
    ("expect_error: x\n    inputs: {x: {uniform: [0, 1], shape: [4294967296, 0]}}", "inputs.x.shape", "larger than"),
])
def test_out_of_range_values_are_clean_errors(extra, key, words):
    with pytest.raises(SpecError, match=words) as info:
        load(extra)
    assert FILE in str(info.value) and "case 'a'" in str(info.value) and f"key '{key}'" in str(info.value)


@pytest.mark.parametrize("name, value", [("seq_len", 2**31), ("batch", 2**40), ("input_size", 2**63),
                                         ("hidden_size", 2**100)])
def test_huge_sizes_are_clean_errors(name, value):
    sizes = {"seq_len": 2, "batch": 0, "input_size": 1, "hidden_size": 1, name: value}  # batch 0: no elements
    with pytest.raises(SpecError, match=f"key 'shape.{name}'.*larger than"):
        load("", "shape: {" + ", ".join(f"{k}: {v}" for k, v in sizes.items()) + "}")


@pytest.mark.parametrize("name", ["input_size", "hidden_size"])
def test_sizes_the_reference_rejects_need_expect_error(name):
    sizes = {"seq_len": 2, "batch": 1, "input_size": 1, "hidden_size": 1, name: 0}
    shape = "shape: {" + ", ".join(f"{k}: {v}" for k, v in sizes.items()) + "}"
    with pytest.raises(SpecError, match=f"key 'shape.{name}'.*at least 1"):
        load("", shape)
    assert load("expect_error: zero size", shape)


def test_values_that_are_only_unusual_still_load():
    cases = load("inputs: {x: {literal: [[[.inf]], [[.nan]]]}, h0: {fill: -.inf}}\n"
                 "    parameters: {'*': {normal: [0, 0]}}\n    seed: 18446744073709551615\n"
                 "    expect: [{output: y, round: 30, values: [.nan, 1.0e+308]}]")
    assert cases[0].seed == 2**64 - 1


def test_aliases_of_aliases_are_refused_quickly():
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10^9 leaves
    with pytest.raises(SpecError, match=f"more than {MAX_NODES:,} values"):
        load_text("\n".join(lines) + "\ncases: []\n", FILE)


def test_matrices_that_multiply_past_the_cap_are_refused_before_expanding():
    axis = "{" + ", ".join(f"v{i}: {{seed: {i}}}" for i in range(10)) + "}"
    matrix = "matrix: {" + ", ".join(f"ax{k}: {axis}" for k in range(6)) + "}"  # 10^6 variants
    with pytest.raises(SpecError, match=f"key 'matrix'.*more than {MAX_CASES:,} cases"):
        load(matrix)
