"""The note "xfail entry ... matched no result" (a stale or mistyped entry) is printed only
when the run covered what the entries target: not after -k, --check or --dtype, not after an
early stop, and not for the shipped entries when the built-in library did not run."""
from pathlib import Path

import pytest
import yaml

from lstm_conformance.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters.py"
CASE = "cases:\n  - id: tiny\n    about: x\n    shape: {seq_len: 2, batch: 1, input_size: 1, hidden_size: 1}\n"


@pytest.fixture
def files(tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text(CASE)
    stale = tmp_path / "numpy.yaml"
    stale.write_text(yaml.safe_dump({"adapter": "numpy", "xfail": [{"case": "no-such-case", "reason": "typo"}]}))
    return ["--cases", str(cases), "--impl", "numpy", "--expectations", str(stale)]


def test_a_complete_run_names_the_stale_entry(files, capsys):
    assert main(["run", *files]) == 0
    assert "xfail entry 'no-such-case' matched no result" in capsys.readouterr().err


@pytest.mark.parametrize("selection", [["-k", "tiny"], ["--check", "forward"], ["--dtype", "float64"]])
def test_a_filtered_run_says_nothing_of_entries(files, capsys, selection):
    assert main(["run", *files, *selection]) == 0
    assert "matched no result" not in capsys.readouterr().err


def test_a_run_stopped_early_says_nothing_of_entries(tmp_path, capsys):
    stale = tmp_path / "swapped.yaml"
    stale.write_text(yaml.safe_dump({"adapter": "textbook-swapped-rows",
                                     "xfail": [{"case": "no-such-case", "reason": "typo"}]}))
    argv = ["run", "--impl", f"{FIXTURES}:TextbookSwappedRows", "--cases", str(tmp_path / "none.yaml"),
            "--expectations", str(stale)]
    (tmp_path / "none.yaml").write_text(CASE)
    assert main(argv) == 1  # the swapped rows fail the tiny case too
    assert "matched no result" in capsys.readouterr().err
    assert main(argv + ["-x"]) == 1
    assert "matched no result" not in capsys.readouterr().err


def test_shipped_entries_are_not_reported_for_other_cases(files, capsys):
    cases = files[1]
    assert main(["run", "--cases", cases, "--impl", "torch-lstm"]) == 0
    assert "matched no result" not in capsys.readouterr().err
