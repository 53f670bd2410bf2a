"""--isolate and --timeout: a segfault, an exit or a hang of the implementation is one error
with a clear message, and the next case runs in a fresh worker. (An implementation that
allocates too much: test_case_memory_cli.py, whose --isolate run shows it through the CLI.)"""
import json
from pathlib import Path

import pytest

from lstm_conformance.cli import main
from lstm_conformance.report.compare import without_timings
from lstm_conformance.harness.isolation import AdapterCrashed, IsolatedAdapter
from lstm_conformance.harness.registry import AdapterLoadError
from lstm_conformance.harness.runner import run_case, run_suite
from lstm_conformance.spec.materialize import materialize

BAD = Path(__file__).with_name("bad_adapters.py")
T1 = "random/t1b1i1h1/bias/zero-state"
T5 = "random/t5b3i4h7/bias/zero-state"


def spec(name):
    return f"{BAD}:{name}"


@pytest.fixture(scope="module")
def cases(library):
    return {c.id: c for c in library}


def test_a_segfault_is_an_error_and_the_next_case_runs(cases):
    with IsolatedAdapter(spec("SegfaultsOnT1")) as adapter:
        crashed = run_case(cases[T1], "float32", adapter)
        assert crashed["status"] == "error"
        assert "AdapterCrashed" in crashed["message"] and "SIGSEGV" in crashed["message"]
        assert f"case {T1} [float32]" in crashed["message"] and "a fresh process serves the next case" in crashed["message"]
        assert run_case(cases[T5], "float32", adapter)["status"] == "pass"  # a new worker took over
        assert len(adapter.incidents) == 1


def test_an_exiting_implementation_is_an_error(cases):
    with IsolatedAdapter(spec("ExitsTheProcess")) as adapter:
        run = adapter.prepare(materialize(cases[T1], "float32"))
        with pytest.raises(AdapterCrashed, match="exit status 3"):
            run()
        # what the dead worker held is gone: refused, without starting a worker for nothing
        with pytest.raises(RuntimeError, match="belonged to a worker of .* that was stopped after a crash"):
            run()
        assert adapter._process is None


# The timeouts below count only the adapter's calls (the worker's start, imports included, has
# its own START_TIMEOUT): every check of a normal case takes 4-9 ms of calls on a fresh worker on
# this 2-core machine under a load of 5.7, at most 0.12 s with four busy processes beside it;
# the calls before a hang here are a few of those. Where a stall of an earlier call past the
# timeout would change what is asserted (which call timed out), the tests give 0.5 s, else 0.25 s.
def test_a_hang_times_out_and_the_worker_is_replaced(cases):
    with IsolatedAdapter(spec("Hangs"), timeout=0.5) as adapter:
        record = run_case(cases[T5], "float32", adapter)
        assert record["status"] == "error"
        assert "CaseTimeout" in record["message"] and "--timeout 0.5 s" in record["message"]
        assert "during the prepared computation" in record["message"]
        assert adapter.name == "hangs" and adapter.capabilities().dtypes  # a fresh worker answers


def test_a_hang_in_prepare_times_out(cases):
    with IsolatedAdapter(spec("HangsOnlyInPrepare"), timeout=0.5) as adapter:
        record = run_case(cases[T1], "float32", adapter)
        assert record["status"] == "error" and "during prepare" in record["message"]


def test_the_case_budget_is_shared_by_its_checks(cases):
    with IsolatedAdapter(spec("Hangs"), timeout=0.25) as adapter:
        records = run_suite([cases[T5]], [adapter], ["float32"])
    errors = [r for r in records if r["status"] == "error"]
    assert errors and all("CaseTimeout" in r["message"] for r in errors)
    assert sum("gave no answer" in r["message"] for r in errors) == 1  # one real wait, the others say why


def test_an_unpicklable_exception_still_reports_its_message(cases):
    with IsolatedAdapter(spec("UnpicklableError")) as adapter:
        record = run_case(cases[T1], "float32", adapter)
    assert record["status"] == "error" and "RuntimeError: device lost" in record["message"]


def test_a_failing_load_is_an_adapter_load_error():
    with pytest.raises(AdapterLoadError, match="cannot open shared object file"):
        IsolatedAdapter(spec("FailsToConstruct"))
    with pytest.raises(AdapterLoadError, match="defines no 'Missing'"):
        IsolatedAdapter(spec("Missing"))


def test_results_through_isolation_equal_those_in_process(cases):
    from lstm_conformance.harness.registry import load_adapter
    selected = [cases[T1], cases["toy-memory-tanh"]]
    with IsolatedAdapter("torch-lstm") as isolated:
        remote = run_suite(selected, [isolated], ["float32"])
    local = run_suite(selected, [load_adapter("torch-lstm")], ["float32"])

    def comparable(records):
        return without_timings({"records": [{k: v for k, v in r.items() if k != "traceback"} for r in records]})

    assert comparable(remote) == comparable(local)
    forward = next(r for r in remote if r["check"] == "forward")
    assert forward["output_dtypes"] == {"y": "float32", "h_n": "float32", "c_n": "float32"}


def test_cli_isolate_survives_a_segfault_and_writes_results(tmp_path, capsys):
    code = main(["run", "--isolate", "--impl", spec("SegfaultsOnT1"), "--impl", "numpy", "-k", T1, "-k", T5,
                 "--dtype", "float32", "--out", str(tmp_path)])
    assert code == 1
    records = json.loads((tmp_path / "results.json").read_text())["records"]
    forward = {(r["impl"], r["case"]): r["status"] for r in records if r["check"] == "forward"}
    assert forward == {("segfaults-on-t1", T1): "error", ("segfaults-on-t1", T5): "pass",
                       ("numpy", T1): "pass", ("numpy", T5): "pass"}
    assert json.loads((tmp_path / "results.json").read_text())["settings"]["isolate"] is True


def test_cli_timeout_turns_a_hang_into_an_error(tmp_path, capsys):
    code = main(["run", "--timeout", "0.25", "--impl", spec("Hangs"), "-k", T1, "--dtype", "float32",
                 "--junit", str(tmp_path / "junit.xml")])
    assert code == 1
    out = capsys.readouterr().out
    assert "      6  hangs: error: CaseTimeout\n" in out and "--timeout 0.25 s" in out
    assert "CaseTimeout" in (tmp_path / "junit.xml").read_text()


def test_the_worker_limit_follows_the_case_limit():
    from lstm_conformance.harness import isolation
    from lstm_conformance.spec import budget
    budget.set_max_case_memory(2**30)
    try:
        assert isolation.default_worker_memory() == 2**30 + isolation.WORKER_BASE_MEMORY
        with IsolatedAdapter("numpy") as adapter:
            assert adapter.memory_limit == 2**30 + isolation.WORKER_BASE_MEMORY
    finally:
        budget.set_max_case_memory(None)


def test_a_platform_without_resource_limits_gets_a_note(monkeypatch):
    from lstm_conformance.harness import isolation
    monkeypatch.setitem(__import__("sys").modules, "resource", None)  # import resource fails
    assert "no resource module" in isolation._limit_memory(2**30)
    assert isolation._limit_memory(None) is None
