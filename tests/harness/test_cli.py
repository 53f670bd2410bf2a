"""The command line: exit statuses, one-line usage errors, files written."""
import json
from pathlib import Path

import pytest

from lstm_conformance.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters.py"


def test_run_passes_with_exit_0_and_writes_results(tmp_path, capsys):
    assert main(["run", "--impl", "numpy", "--impl", "torch-lstm", "-k", "toy", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "PASS        numpy        toy-memory-tanh [float64]" in out
    assert "UNSUPPORTED torch-lstm   toy-memory-linear" in out
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["schema_version"] == 1 and doc["environment"]["torch"]
    assert {r["status"] for r in doc["records"]} == {"pass", "unsupported"}
    assert "| numpy" in (tmp_path / "correctness.md").read_text()


def test_run_with_a_failing_adapter_exits_1(capsys):
    assert main(["run", "--impl", f"{FIXTURES}:TextbookSwappedRows", "-k", "toy-memory-tanh"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_run_with_an_erroring_adapter_exits_1(capsys):
    assert main(["run", "--impl", f"{FIXTURES}:RaisingAdapter", "-k", "random/t1b1i1h1"]) == 1
    assert "kernel exploded on purpose" in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["run", "--impl", "nope"], "unknown implementation"),
    (["run", "--impl", "no/such.py:X"], "no such file"),
    (["run", "--cases", "no-such.yaml"], "--cases no-such.yaml: no such file"),
    (["run", "-k", "zzz-no-case"], "no case matches"),
    (["bench", "--shapes", "t1b1"], "expected t<T>b<B>i<I>h<H>"),
    (["bench", "--set", "huge"], "unknown benchmark set"),
])
def test_usage_errors_are_one_line_and_exit_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lstm-conformance: error:") and words in err


def test_bad_option_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["run", "--no-such-option"])
    assert info.value.code == 2


def test_validate(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("cases:\n  - id: a\n    about: x\n    shape: {seq_len: 2, batch: 1, input_size: 1, hidden_size: 1}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cases:\n  - id: b\n    about: x\n    shape: {seq_len: 2, batch: 1, input_size: 1, hidden_size: 1}\n    options: {bias: 3}\n")
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"INVALID {bad}: case 'b': key 'options.bias'" in out


def test_list_cases_and_impls(capsys):
    assert main(["list", "cases", "-k", "toy"]) == 0
    assert "toy-memory-linear" in capsys.readouterr().out
    assert main(["list", "impls"]) == 0
    out = capsys.readouterr().out
    assert "torch-cell" in out and "cuda" in out


def test_report_writes_all_files(tmp_path, capsys):
    code = main(["report", "--impl", "numpy", "--impl", "torch-lstm", "-k", "toy-memory-tanh", "--out", str(tmp_path),
                 "--shapes", "t3b2i4h5", "--quick"])
    assert code == 0
    for name in ("results.json", "correctness.md", "speed.md", "benchmark.json"):
        assert (tmp_path / name).is_file(), name
    doc = json.loads((tmp_path / "results.json").read_text())
    speed = {s["impl"]: s for s in doc["speed"]}
    assert speed["torch-lstm"]["ratio"] == 1.0 and speed["numpy"]["ratio"] > 0
    assert speed["numpy"]["rounds"] >= 3
    assert "t3b2i4h5" in (tmp_path / "speed.md").read_text()
