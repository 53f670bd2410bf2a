"""Expectations files may describe an implementation (and its versions) rather than name an
adapter; any adapter takes them with --expectations FILE --expectations-for ADAPTER."""
from pathlib import Path

import pytest
import yaml

from lstm_conformance.cli import main
from lstm_conformance.harness import expectations as exp

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters.py"
SWAPPED = f"{FIXTURES}:TextbookSwappedRows"  # named textbook-swapped-rows; fails toy-memory-tanh


def write(tmp_path, document) -> Path:
    path = tmp_path / "textbook.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


TEXTBOOK = {"implementation": "textbook-port", "versions": ">=1.0",
            "xfail": [{"case": "toy-memory-tanh", "reason": "rows in the order of the textbook's figure"}]}


def test_a_file_about_an_implementation_applies_to_its_namesake_by_default():
    parsed = exp.parse(TEXTBOOK, "f.yaml")
    assert (parsed.adapter, parsed.implementation, parsed.versions) == ("textbook-port", "textbook-port", ">=1.0")
    assert exp.for_adapter(parsed, "mine").adapter == "mine"


@pytest.mark.parametrize("document, message", [
    ({"versions": ">=1", "adapter": "a", "xfail": []}, "versions of what"),
    ({"implementation": "x", "versions": "newest", "xfail": []}, "cannot read the version clause"),
    ({"implementation": "x", "versions": ">=1.*", "xfail": []}, "wildcard"),
    ({"xfail": []}, "implementation they describe"),
])
def test_bad_implementation_keys_are_named(document, message):
    with pytest.raises(exp.ExpectationsError, match=message):
        exp.parse(document, "f.yaml")


@pytest.mark.parametrize("version, specifier, matches", [
    ("1.32.0", ">=1.17", True), ("1.16.3", ">=1.17", False), ("2.13.0+cpu", ">=2.1, <2.14", True),
    ("2.14.0", ">=2.1, <2.14", False), ("1.32.1", "==1.32.*", True), ("1.33.0", "==1.32.*", False),
    ("1.0", "!=1.0.0", False)])
def test_version_ranges(version, specifier, matches):
    assert exp.version_matches(version, specifier) is matches


def test_a_file_for_other_versions_is_not_applied_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(exp, "installed_version", lambda name: "0.9")
    loaded = exp.load(write(tmp_path, TEXTBOOK))
    assert loaded.entries == [] and "0.9 is installed, so its entries are not applied" in capsys.readouterr().err
    monkeypatch.setattr(exp, "installed_version", lambda name: "1.2")
    assert len(exp.load(write(tmp_path, TEXTBOOK)).entries) == 1


def test_shipped_files_describe_their_implementation_and_are_found_by_it():
    onnx = exp.load("builtin:onnxruntime@my-ort")
    assert (onnx.adapter, onnx.implementation, onnx.versions) == ("my-ort", "onnxruntime", ">=1.17") and onnx.entries
    assert exp.load("builtin:torch").implementation == "torch"
    with pytest.raises(exp.ExpectationsError, match="no shipped expectations file; known: ") as raised:
        exp.load("builtin:no-such-library")
    assert {"onnxruntime", "torch", "tensorflow"} <= set(str(raised.value).split("known: ")[1].split(", "))


def test_any_adapter_takes_the_file_with_expectations_for(tmp_path, capsys):
    path = write(tmp_path, {k: v for k, v in TEXTBOOK.items() if k != "versions"})
    args = ["run", "--impl", SWAPPED, "-k", "toy-memory-tanh", "--expectations", str(path)]
    assert main(args) == 1  # about textbook-port: not the adapter of this run
    assert "which is not in this run" in capsys.readouterr().err
    assert main(args + ["--expectations-for", "textbook-swapped-rows", "-q"]) == 0
    assert "xfail" in capsys.readouterr().out


def test_the_ci_doc_example_parses_and_its_commands_are_accepted():
    import re
    import shlex

    from lstm_conformance.cli import _parser
    doc = (Path(__file__).resolve().parents[2] / "docs" / "CI.md").read_text(encoding="utf-8")
    section = doc.split("### Expectations by implementation", 1)[1].split("\n## ", 1)[0]
    example = exp.parse(yaml.safe_load(re.search(r"```yaml\n(.+?)```", section, re.S).group(1)), "example")
    assert (example.adapter, example.implementation, example.versions) == ("onnxruntime", "onnxruntime", ">=1.17, <2")
    commands = re.search(r"```bash\n(.+?)```", section, re.S).group(1).strip().splitlines()
    for command in commands:
        args = _parser().parse_args(shlex.split(command)[1:])
        assert args.expectations_for == "my-ort"


def test_shipped_files_parse_the_same_with_libyaml_and_pure_python_yaml():
    """The shipped files are parsed with libyaml's safe loader where PyYAML has it
    (expectations._read): each must give exactly the document the pure-Python loader gives."""
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("this PyYAML is built without libyaml: the shipped files are parsed by the pure-Python loader")
    files = exp._shipped_files()
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=yaml.CSafeLoader) == yaml.safe_load(text), path.name
