"""Every usage error is one clear line on stderr with exit status 2, found before any case runs."""
from pathlib import Path

import pytest

from lstm_conformance.cli import main

BAD = Path(__file__).with_name("bad_adapters.py")


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("lstm-conformance: error: ")
    assert "PASS" not in captured.out  # nothing ran
    return err


@pytest.mark.parametrize("argv, words", [
    (["run", "--impl", "no-such-impl"], "unknown implementation"),
    (["run", "--impl", "missing/file.py:X"], "no such file missing/file.py"),
    (["run", "--impl", f"{BAD}:FailsToConstruct"], "cannot open shared object file"),
    (["run", "--isolate", "--impl", f"{BAD}:FailsToConstruct"], "cannot open shared object file"),
    (["run", "--cases", "no-such.yaml"], "--cases no-such.yaml: no such file"),
    # the case files are read before any adapter is loaded (loading one may import torch, or fail)
    (["run", "--impl", f"{BAD}:FailsToConstruct", "--cases", "no-such.yaml"], "--cases no-such.yaml: no such file"),
    (["run", "--expectations", "no-such-expectations.yaml"], "no-such-expectations.yaml: cannot read"),
    (["compare", "no-such-a.json", "no-such-b.json"], "BASELINE no-such-a.json: cannot read"),
])
def test_bad_names_and_paths(argv, words, capsys):
    assert main(argv) == 2
    assert words in one_line_error(capsys)


def test_out_that_is_a_file_and_junit_that_is_a_folder(tmp_path, capsys):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert main(["run", "--impl", "numpy", "-k", "toy-memory-tanh", "--out", str(a_file)]) == 2
    assert "exists and is not a folder" in one_line_error(capsys)
    assert main(["run", "--impl", "numpy", "-k", "toy-memory-tanh", "--junit", str(tmp_path)]) == 2
    assert "is a folder; expected a file name" in one_line_error(capsys)
    assert main(["run", "--impl", "numpy", "-k", "toy-memory-tanh", "--html", str(a_file / "report.html")]) == 2
    assert "is not a folder" in one_line_error(capsys)


@pytest.mark.parametrize("argv, words", [
    (["run", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["run", "--timeout", "-3"], "expected a positive number of seconds"),
    (["run", "--timeout", "soon"], "expected a number of seconds"),
    (["report", "--out", "x", "--batch-sizes", "1,a"], "expected batch sizes"),
    (["report"], "the following arguments are required: --out"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_options_are_one_line_exit_2(argv, words, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert words in one_line_error(capsys)
