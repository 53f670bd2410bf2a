"""The YAML loader: valid files expand as declared; invalid ones give errors naming file, case, key."""
import textwrap

import pytest

from lstm_conformance.spec.loader import SpecError, load_file, load_text, select

GOOD = """
group: demo
cases:
  - id: small
    about: a small case
    shape: {seq_len: 3, batch: 2, input_size: 4, hidden_size: 5}
    seed: 7
    matrix:
      bias:
        with-bias: {options: {bias: true}}
        no-bias: {options: {bias: false}}
      dtype:
        f32: {dtypes: [float32]}
        f64: {dtypes: [float64]}
"""


def test_matrix_expands_to_cartesian_product_with_readable_ids():
    cases = load_text(GOOD, "demo.yaml")
    assert [c.id for c in cases] == ["small/with-bias/f32", "small/with-bias/f64", "small/no-bias/f32", "small/no-bias/f64"]
    assert [c.config.bias for c in cases] == [True, True, False, False]
    assert [c.dtypes for c in cases] == [("float32",), ("float64",)] * 2
    assert {c.group for c in cases} == {"demo"}


def _error(text, file="bad.yaml") -> SpecError:
    with pytest.raises(SpecError) as info:
        load_text(textwrap.dedent(text), file)
    return info.value


CASE_HEAD = """
cases:
  - id: broken
    about: a broken case
    shape: {seq_len: 3, batch: 2, input_size: 4, hidden_size: 5}
"""


@pytest.mark.parametrize("extra, key, words", [
    ("    colour: red\n", "", "unknown key"),
    ("    options: {bias: maybe}\n", "options.bias", "boolean"),
    ("    options: {activations: {cell: tanhh}}\n", "options.activations.cell", "unknown activation"),
    ("    options: {num_layrs: 2}\n", "options", "unknown key"),
    ("    inputs: {x: {literal: [[1, 2]]}}\n", "inputs.x.literal", "expected (3, 2, 4)"),
    ("    inputs: {x: {uniform: [1]}}\n", "inputs.x.uniform", "too short"),
    ("    inputs: {x: 3}\n", "inputs.x", "expected 'zeros'"),
    ("    inputs: {lengths: [3, 9]}\n", "inputs.lengths", "1..3"),
    ("    parameters: {weight_xx_l0: zeros}\n", "parameters.weight_xx_l0", "matches no parameter"),
    ("    parameters: {weight_ih_l0: {literal: [[1]]}}\n", "parameters.weight_ih_l0.literal", "expected (20, 4)"),
    ("    dtypes: [float8]\n", "dtypes[0]", "float8"),
    ("    expect: [{output: y, values: [1], round: 0, atol: 1}]\n", "expect[0]", "either round or atol"),
    ("    options: {activations: {hidden: scaled_tanh}}\n", "options.activations.hidden", "alpha and beta"),
])
def test_errors_name_file_case_and_key(extra, key, words):
    err = _error(CASE_HEAD + extra)
    assert err.file == "bad.yaml" and err.case_id == "broken"
    assert err.key == key, str(err)
    assert words in str(err)
    assert str(err).startswith("bad.yaml: case 'broken'")


def test_missing_about_and_shape_are_reported():
    assert "about" in str(_error("cases:\n  - id: a\n    shape: {seq_len: 1, batch: 1, input_size: 1, hidden_size: 1}\n"))
    err = _error("cases:\n  - id: a\n    about: x\n")
    assert err.case_id == "a" and err.key == "shape"


def test_duplicate_ids_and_bad_yaml_and_non_mapping():
    one = "  - id: same\n    about: x\n    shape: {seq_len: 1, batch: 1, input_size: 1, hidden_size: 1}\n"
    assert "duplicate" in str(_error("cases:\n" + one + one))
    err = _error("cases: [\n  - oops")
    assert "not valid YAML at line" in str(err)
    assert "expected a mapping" in str(_error("- 1\n- 2\n"))


def test_case_without_id_is_located_by_index():
    err = _error("cases:\n  - about: x\n")
    assert err.case_id is None and err.key.startswith("cases[0]")


def test_unreadable_file_names_the_file(tmp_path):
    with pytest.raises(SpecError) as info:
        load_file(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(info.value) and "cannot read" in str(info.value)


def test_select_by_substring_glob_and_group():
    cases = load_text(GOOD, "demo.yaml")
    assert len(select(cases, ["no-bias"])) == 2
    assert len(select(cases, ["small/*/f32"])) == 2
    assert len(select(cases, ["demo"])) == 4
    assert select(cases, ["nothing-like-this"]) == []


def test_builtin_library_has_the_toy_and_random_matrix(library):
    ids = {c.id for c in library}
    assert {"toy-memory-linear", "toy-memory-tanh"} <= ids
    random = [c for c in library if c.id.startswith("random/")]
    sizes = {(c.shape["seq_len"], c.shape["batch"], c.shape["input_size"], c.shape["hidden_size"]) for c in random}
    assert {(1, 1, 1, 1), (5, 3, 4, 7), (20, 4, 16, 32), (50, 8, 64, 64)} <= sizes
    assert {c.config.bias for c in random} == {True, False}
    assert all(set(c.dtypes) == {"float32", "float64"} for c in random)
    assert {c.inputs.get("h0", "none") != "none" for c in random} == {True, False}
