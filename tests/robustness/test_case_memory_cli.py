"""--max-case-memory: validate and run refuse a case over the limit with a clean error, a bad
SIZE is a usage error, and an --isolate worker's limit follows it."""
import importlib.util
import json
from pathlib import Path

import pytest

from lstm_conformance.harness import isolation
from lstm_conformance.cli import main
from lstm_conformance.spec import budget
from lstm_conformance.spec.loader import builtin_case_files

GREEDY = f"{Path(__file__).with_name('greedy_adapter.py')}:AllocatesTooMuch"
T1 = "random/t1b1i1h1/bias/zero-state"
T5 = "random/t5b3i4h7/bias/zero-state"


@pytest.fixture(autouse=True)
def default_limit_afterwards():
    yield
    budget.set_max_case_memory(None)


def test_validate_refuses_a_case_over_the_limit(capsys):
    toy = next(p for p in builtin_case_files() if p.name == "random.yaml")
    assert main(["validate", "--max-case-memory", "1KiB", str(toy)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("INVALID") and str(toy) in out and "more than the limit of 1 KiB" in out
    assert main(["validate", "--max-case-memory", "64MiB", str(toy)]) == 0


def test_run_refuses_before_running(capsys):
    assert main(["run", "--max-case-memory", "1KiB", "--impl", "numpy", "-k", T1]) == 2
    assert "more than the limit of 1 KiB" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "report", "validate", "mutants", "bench"])
def test_a_bad_size_is_a_usage_error(command, capsys):
    extra = ["--out", "x"] if command == "report" else (["f.yaml"] if command == "validate" else [])
    with pytest.raises(SystemExit) as info:
        main([command, *extra, "--max-case-memory", "lots"])
    assert info.value.code == 2
    assert "--max-case-memory" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "report", "validate", "mutants", "bench"])
def test_the_option_is_documented(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--max-case-memory SIZE" in capsys.readouterr().out


@pytest.mark.skipif(importlib.util.find_spec("resource") is None, reason="no resource limits on this platform")
def test_an_isolated_worker_over_its_limit_is_one_error_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    # worker limit 64 + 192 MiB: above the ~95 MiB an idle worker takes, and small, since the
    # greedy adapter writes to every page it allocates until it reaches the limit
    monkeypatch.setattr(isolation, "WORKER_BASE_MEMORY", 192 * 2**20)
    code = main(["run", "--isolate", "--max-case-memory", "64MiB", "--impl", GREEDY, "-k", T1, "-k", T5,
                 "--dtype", "float32", "--out", str(tmp_path)])
    assert code == 1
    records = json.loads((tmp_path / "results.json").read_text())["records"]
    forward = {r["case"]: r for r in records if r["check"] == "forward"}
    assert forward[T1]["status"] == "error" and forward[T5]["status"] == "pass"
    assert "MemoryError: the worker exceeded its memory limit of 256 MiB" in forward[T1]["message"]
