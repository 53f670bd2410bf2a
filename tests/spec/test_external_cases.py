"""Other suites' vectors as spec cases (spec/cases/external/, made by tools/convert_external.py):
they are shipped and found like the library, name their source, commit and licence, and pass
for the reference and the numpy implementation with no tolerance beyond SPEC.md §10's."""
import fnmatch
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from lstm_conformance.harness.runner import run_case
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.literals import check_literals
from lstm_conformance.reference import lstm_forward
from lstm_conformance.spec.loader import builtin_case_files, load_cases
from lstm_conformance.spec.materialize import materialize

if sys.version_info >= (3, 11):
    import tomllib

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = ROOT / "spec" / "cases" / "external"
GROUPS = {"onnx.yaml": "external-onnx", "wpt.yaml": "external-wpt"}
LICENCES = {"external-onnx": "Apache-2.0", "external-wpt": "3-clause BSD"}


@pytest.fixture(scope="module")
def external():
    return load_cases(sorted(EXTERNAL.glob("*.yaml")))


def test_the_external_files_are_package_data():
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "lstm_conformance.spec"]
    files = sorted(EXTERNAL.glob("*.yaml"))
    assert {f.name for f in files} >= set(GROUPS)
    for path in files:
        relative = path.relative_to(ROOT / "spec").as_posix()
        assert any(fnmatch.fnmatch(relative, g) and g.count("/") == relative.count("/") for g in globs), relative


def test_the_loader_finds_the_external_package_data():
    names = {(p.parent.name, p.name) for p in builtin_case_files()}
    assert {("external", name) for name in GROUPS} <= names
    groups = {case.group for case in load_cases()}
    assert set(GROUPS.values()) <= groups


def test_each_file_is_its_own_group_and_each_case_names_source_commit_and_licence(external):
    assert {c.group for c in external} == set(GROUPS.values())
    for case in external:
        assert "external" in case.tags, case.id
        assert LICENCES[case.group] in case.about, case.id
        assert re.search(r"@[0-9a-f]{40}", case.about), f"{case.id}: no commit in its about"
        assert case.expect, f"{case.id}: the source's expected values are literal expectations"
    text = (EXTERNAL / "wpt.yaml").read_text() + (EXTERNAL / "onnx.yaml").read_text()
    assert text.count("# source: ") == len(external)


def test_the_external_expectations_agree_with_the_reference(external):
    for case in external:
        for dtype in case.dtypes:
            problem = materialize(case, dtype)
            outputs = lstm_forward(problem.config, problem.x, problem.params, problem.h0, problem.c0,
                                   problem.lengths).as_dict()
            records = check_literals(case.expect, outputs, problem)
            assert all(r["passed"] for r in records), (case.id, [r.get("message") for r in records])


def test_the_external_cases_pass_for_numpy(external):
    for case in external:
        for dtype in case.dtypes:
            record = run_case(case, dtype, NumpyAdapter(), check="forward", diagnose=False)
            assert record["status"] == "pass", (case.id, dtype, record["message"])


def test_the_conversion_reads_webnn_test_descriptors():
    """The script's reader of WPT's JavaScript descriptors (quoted and bare keys, escaped
    quotes, nested arrays), on a fragment written like the WPT files."""
    spec = importlib.util.spec_from_file_location("convert_external", ROOT / "tools" / "convert_external.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fragment = """[{'name': 'lstm with options.activations=[\\'relu\\']',
                    'graph': {'inputs': {'a': {'data': [1, -2.5, 0.1], 'descriptor': {shape: [3], dataType: 'float32'},
                                               'constant': true}}}}]"""
    parsed = module.parse_js_literal(fragment)
    assert parsed == [{"name": "lstm with options.activations=['relu']",
                       "graph": {"inputs": {"a": {"data": [1, -2.5, 0.1],
                                                  "descriptor": {"shape": [3], "dataType": "float32"},
                                                  "constant": True}}}}]
    assert module.slug("float32 tensors steps=2 with options.direction='backward'") == "steps-2-direction-backward"
