"""The command line: exit statuses, one-line usage errors, files written."""
import json
from pathlib import Path

import pytest
from fixtures.cpu_info_once import cpu_info_once  # noqa: F401 - an autouse fixture

from lstm_conformance.bench import timing
from lstm_conformance.cli import main
from lstm_conformance.report.results import SCHEMA_VERSION

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters.py"
WITHOUT_TORCH = FIXTURES.with_name("adapters_without_torch.py")


@pytest.fixture
def short_timings(monkeypatch):
    """The real benchmark session (pytest-benchmark, benchmark.json written), with 0.01 s of timed
    rounds per benchmark instead of --quick's 0.2 s: these tests judge what the command passes on
    and writes; the timings themselves are tested in tests/bench (also with max_time=0.01)."""
    real, calls = timing.run_benchmarks, []

    def run_benchmarks(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **{**kwargs, "max_time": 0.01})

    monkeypatch.setattr(timing, "run_benchmarks", run_benchmarks)
    return calls


def test_run_passes_with_exit_0_and_writes_results(tmp_path, capsys):
    assert main(["run", "--impl", "numpy", "--impl", "torch-lstm", "-k", "toy", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "numpy: 28 pass\ntorch-lstm: 16 pass, 16 unsupported\n" in out  # totals per implementation
    assert "     16  torch-lstm: nn.LSTM has fixed activations" in out  # one line per reason, with its count
    assert "total: 44 pass, 16 unsupported" in out
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["schema_version"] == SCHEMA_VERSION and doc["environment"]["torch"]
    assert {r["status"] for r in doc["records"]} == {"pass", "unsupported"}
    assert "| numpy" in (tmp_path / "correctness.md").read_text()


def test_run_with_a_failing_adapter_exits_1_and_groups_failures_by_diagnosis(capsys):
    assert main(["run", "--impl", f"{FIXTURES}:TextbookSwappedRows", "-k", "toy-memory-tanh"]) == 1
    out = capsys.readouterr().out
    assert "failures (by implementation and diagnosis): 4\n" in out
    assert "      4  textbook-swapped-rows: diagnosis: gate blocks i and f swapped\n" in out
    assert "e.g. toy-memory-tanh [float64] forward: y[t=5, b=0, unit=0]: expected 0.963623684" in out
    assert "FAIL " not in out  # no per-record lines without -v
    assert f"details: lstm-conformance run --impl {FIXTURES}:TextbookSwappedRows -k toy-memory-tanh -v" in out


def test_run_with_an_erroring_adapter_exits_1(capsys):
    assert main(["run", "--impl", f"{WITHOUT_TORCH}:RaisingAdapter", "-k", "random/t1b1i1h1"]) == 1
    out = capsys.readouterr().out
    assert "     32  raises: error: RuntimeError\n" in out and "kernel exploded on purpose" in out


def test_verbose_prints_a_line_per_record_and_quiet_only_the_totals(capsys):
    argv = ["run", "--impl", f"{FIXTURES}:TextbookSwappedRows", "-k", "toy-memory-tanh", "--dtype", "float64"]
    assert main(argv + ["-v"]) == 1
    out = capsys.readouterr().out
    assert "FAIL        textbook-swapped-rows toy-memory-tanh [float64]\n" in out
    assert "PASS        textbook-swapped-rows toy-memory-tanh [float64] errors\n" in out
    assert "diagnosis: gate blocks i and f swapped" in out  # the summary follows the lines
    assert main(argv + ["-q"]) == 1
    assert capsys.readouterr().out == "6 pass, 1 fail\n"


def test_maxfail_stops_the_run_and_keeps_what_was_computed(tmp_path, capsys):
    argv = ["run", "--impl", f"{FIXTURES}:TextbookSwappedRows", "-k", "toy", "--out", str(tmp_path)]
    for option in (["-x"], ["--maxfail", "1"]):  # the same stop, one run each
        (tmp_path / "results.json").unlink(missing_ok=True)  # each run's own file is read
        assert main(argv + option) == 1, option
        out = capsys.readouterr().out
        assert "stopped early (--maxfail 1)" in out, option
        doc = json.loads((tmp_path / "results.json").read_text())
        assert doc["settings"]["stopped_early"] == "--maxfail 1", option
        statuses = [r["status"] for r in doc["records"]]
        # the full run has 4 failures in 32 records
        assert statuses.count("fail") == 1 and len(statuses) < 32, (option, statuses)
    (tmp_path / "results.json").unlink()
    assert main(argv + ["--maxfail", "3"]) == 1
    assert sum(r["status"] == "fail" for r in json.loads((tmp_path / "results.json").read_text())["records"]) == 3


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


def test_report_writes_all_files(tmp_path, capsys, short_timings):
    code = main(["report", "--impl", "numpy", "--impl", "torch-lstm", "-k", "toy-memory-tanh", "--out", str(tmp_path),
                 "--shapes", "t3b2i4h5", "--quick"])
    assert code == 0
    assert [call["quick"] for call in short_timings] == [True]  # --quick reaches the one benchmark session
    for name in ("results.json", "correctness.md", "speed.md", "benchmark.json"):
        assert (tmp_path / name).is_file(), name
    doc = json.loads((tmp_path / "results.json").read_text())
    speed = {s["impl"]: s for s in doc["speed"]}
    assert speed["torch-lstm"]["ratio"] == 1.0 and speed["numpy"]["ratio"] > 0
    assert speed["numpy"]["rounds"] >= 3
    assert "t3b2i4h5" in (tmp_path / "speed.md").read_text()


def _parsers(parser):
    """The parser and every subcommand's parser."""
    import argparse
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_option_and_argument_of_every_subcommand_has_help():
    from lstm_conformance.cli import _parser
    missing = [f"{p.prog}: {a.option_strings or a.dest}" for p in _parsers(_parser()) for a in p._actions
               if not a.help or a.help == "==SUPPRESS=="]
    assert not missing


def test_version(capsys):
    from importlib.metadata import version
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"lstm-conformance {version('lstm-conformance')}\n"


@pytest.mark.parametrize("argv, words", [
    (["run", "--impl", "numpy", "--dtype", "fp32"], "--dtype fp32: unknown dtype; known: float16"),
    (["run", "--impl", "numpy", "--check", "nope"], "--check: unknown check 'nope'"),
    (["run", "--impl", "nope"], "unknown implementation"),
    (["run", "--impl", "numpy", "-k", "zzz-no-case"], "no case matches"),
])
def test_a_selection_that_names_nothing_is_a_usage_error(argv, words, capsys):
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_a_run_where_no_case_ran_fails_unless_allowed_and_junit_says_so(tmp_path, capsys):
    junit = tmp_path / "junit.xml"
    argv = ["run", "--impl", "cuda", "-k", "toy-memory-tanh", "--junit", str(junit)]  # no GPU here: all skipped
    import torch
    if torch.cuda.is_available():
        pytest.skip("cuda runs here")
    assert main(argv) == 1
    assert "no case ran" in capsys.readouterr().err
    text = junit.read_text()
    assert 'name="no-results[-]::selection"' in text and "<failure" in text
    assert main(argv + ["--allow-empty"]) == 0
    assert "<failure" not in junit.read_text() and "no case ran" in junit.read_text()


def test_junit_of_no_records_is_one_failing_test():
    from lstm_conformance.report.junit import to_xml
    text = to_xml([])
    assert 'tests="1" failures="1"' in text and "no case ran" in text
    assert 'tests="1" failures="0" errors="0" skipped="1"' in to_xml([], allow_empty=True)


def test_calibrate_is_a_subcommand_printing_the_error_distribution(capsys):
    assert main(["calibrate", "--impl", "numpy", "-k", "toy-memory-tanh"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| check") and "tolerance used" in out
    assert "| forward " in out and "numpy toy-memory-tanh" in out


def test_repro_writes_a_bundle_that_replays_to_the_same_verdict(tmp_path, capsys):
    from pathlib import Path
    swapped = Path(__file__).resolve().parents[1] / "fixtures" / "adapters.py"
    impl = f"{swapped}:TextbookSwappedRows"
    assert main(["repro", "toy-memory-tanh", "--impl", impl, "--dtype", "float64", "--out", str(tmp_path),
                 "--check", "forward"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" in out and "replay with: lstm-conformance run --cases" in out
    assert main(["run", "--cases", str(tmp_path / "case.yaml"), "--impl", impl, "--dtype", "float64",
                 "--check", "forward", "-q"]) == 1  # the same failure
    assert main(["repro", "no-such-case", "--impl", impl, "--dtype", "float64", "--out", str(tmp_path)]) == 2
    assert "no such case" in capsys.readouterr().err
