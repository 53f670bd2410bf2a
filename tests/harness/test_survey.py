"""`lstm-conformance survey`: each implementation in processes of its own, one comparison report.

One survey of a few cases over the built-in numpy adapter and test adapters given by file path:
one with a gate-order defect and an expectations file that makes it a finding, one that is off
everywhere (no entry: it stays a failure), one that crashes its process, one whose skip_reason()
is set, and one that cannot be loaded; a second survey over it reuses the numpy run and times
numpy. What needs no process of its own (the time limit's bookkeeping with a stand-in run
process, --reuse's comparison of the adapter and expectations files, --budget-for) is tested in
this process. The test adapters are NumPy's (a process that imports torch costs about 1.5 s
more); only the speed part imports torch, for its baseline."""
import json
import re
import shutil
import sys
import textwrap
from collections import Counter
from importlib import metadata
from pathlib import Path

import pytest
from fixtures.once_per_run import made_once

from lstm_conformance import cli
from lstm_conformance.harness import expectations, survey, survey_worker
from lstm_conformance.report import results, survey_report

CASES = ["-k", "toy-memory", "-k", "lengths-with-state", "-k", "peephole[s]"]

# docs/TEXTBOOK.md §1's port on NumPy's LSTM, with nn.LSTM's capabilities (no peepholes,
# standard activations only): the gate blocks i and f swapped; and one that needs a GPU.
WITHOUT_TORCH = Path(__file__).resolve().parents[1] / "fixtures" / "adapters_without_torch.py"
SWAPPED_ROWS, NEEDS_GPU = f"{WITHOUT_TORCH}:SwappedRows", f"{WITHOUT_TORCH}:NoGPUAdapter"

ADAPTERS = textwrap.dedent("""
    import os, signal
    from lstm_conformance.implementations.numpy_lstm import NumpyAdapter

    class Shifted(NumpyAdapter):
        '''numpy's LSTM with y off by 0.01 everywhere: fails every case it runs.'''
        name = "shifted"

        def prepare(self, problem):
            run = super().prepare(problem)

            def shifted():
                out = dict(run())
                out["y"] = out["y"] + 0.01
                return out
            return shifted

    class Crasher(NumpyAdapter):
        '''numpy's LSTM that kills its own process (SIGSEGV) on toy-memory-tanh.'''
        name = "crasher"

        def prepare(self, problem):
            if problem.case_id == "toy-memory-tanh":
                os.kill(os.getpid(), signal.SIGSEGV)
            return super().prepare(problem)
""")

EXPECTATIONS = textwrap.dedent("""
    adapter: textbook-swapped-rows
    xfail:
      - case: toy-memory-tanh
        check: forward
        finding: gate blocks i and f swapped
        reason: >
          the port writes the weight rows as [f, i, g, o]; nn.LSTM's first block is the input gate
        spec: "PyTorch nn.LSTM: weight_ih_l[k] is (W_ii|W_if|W_ig|W_io)"
        reproducer: tests/harness/test_survey.py::test_evidence_fields_are_read
        upstream: none found
""")


def _table_row(markdown: str, label: str, section: str = "") -> dict:
    """The cells of the Markdown table row whose first cell starts with `label`, by column header
    (the first such row after the heading `section`)."""
    lines = markdown.split(section, 1)[1].splitlines() if section else markdown.splitlines()
    for index, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith(label):
            header_index = index
            while header_index > 0 and not lines[header_index - 1].startswith("|---"):
                header_index -= 1
            headers = [c.strip() for c in lines[header_index - 2].strip().strip("|").split("|")]
            return dict(zip(headers, cells))
    raise AssertionError(f"no table row {label!r}")


def _shared(part: str, make) -> dict:
    """What `make(folder)` returns, made once per test run and shared by the pytest-xdist workers
    (fixtures/once_per_run.py): under -n 2 the tests of the module survey land on both workers,
    which would otherwise each run it (13 processes). No test writes into the shared folder
    (test_reuse_runs_again_... works in a folder of its own)."""
    return made_once(f"test_survey/{part}", make)[1]


def _first_survey(folder: Path) -> dict:
    """The module's survey, in folder/out; its report and runs are copied to folder/first before
    the second survey (_second_survey) rewrites the report: the tests of the first read the copy."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "more_adapters.py").write_text(ADAPTERS)
    (folder / "swapped.yaml").write_text(EXPECTATIONS)
    out = folder / "out"
    impls = [f"{folder / 'more_adapters.py'}:Crasher",  # first: the others must still run after its crash
             "numpy", SWAPPED_ROWS, f"{folder / 'more_adapters.py'}:Shifted",
             NEEDS_GPU, f"{folder / 'missing.py'}:Nothing"]
    argv = ["survey", "--out", str(out), "--check", "forward", "--skip-speed", "-j", "2",
            "--expectations", str(folder / "swapped.yaml"), *CASES]
    for impl in impls:
        argv += ["--impl", impl]
    status = cli.main(argv)
    shutil.copytree(out, folder / "first")
    return {"status": status, "out": str(out), "first": str(folder / "first")}


@pytest.fixture(scope="module")
def surveyed():
    """(exit status, the folder of the first survey's report and runs)."""
    first = _shared("first", _first_survey)
    return first["status"], Path(first["first"])


def _entries(out: Path) -> dict:
    document = results.read(out / "results.json")
    return {e["name"]: e for e in document["survey"]["implementations"]}


def test_survey_writes_the_report_and_exits_0(surveyed):
    status, out = surveyed
    assert status == 0
    for name in ("survey.md", "survey.html", "results.json", "environment.json"):
        assert (out / name).is_file(), name
    env = json.loads((out / "environment.json").read_text())
    assert env["environment"]["python"] and f"numpy=={metadata.version('numpy')}" in env["packages"]
    html = (out / "survey.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "gate blocks i and f swapped" in html


def test_each_implementation_ran_in_its_own_process_and_the_crash_costs_only_itself(surveyed):
    _status, out = surveyed
    entries = _entries(out)
    assert entries["crasher"]["status"] == "crashed"
    assert "SIGSEGV" in entries["crasher"]["reason"] and "toy-memory-tanh" in entries["crasher"]["reason"]
    assert entries["numpy"]["status"] == entries["shifted"]["status"] == "ran"
    records = results.read(out / "results.json")["records"]
    crasher = Counter((r["case"], r["status"]) for r in records if r["impl"] == "crasher")
    assert crasher[("toy-memory-linear", "pass")] == 2  # the results before the crash are kept
    assert not any(case == "toy-memory-tanh" for case, _ in crasher)
    assert {r["impl"] for r in records} >= {"numpy", "shifted", "textbook-swapped-rows", "crasher"}
    assert (out / "runs" / "numpy" / "results.json").is_file() and (out / "runs" / "shifted" / "run.log").is_file()


def test_left_out_implementations_are_listed_with_their_reasons(surveyed):
    _status, out = surveyed
    entries = _entries(out)
    assert entries["needs-gpu"]["status"] == "skipped"
    assert entries["needs-gpu"]["reason"] == "needs a GPU that this test pretends is absent"
    missing = next(e for e in entries.values() if e["spec"].endswith("missing.py:Nothing"))
    assert missing["status"] == "load error" and "no such file" in missing["reason"]
    markdown = (out / "survey.md").read_text()
    left_out = markdown.split("## Left out", 1)[1]
    assert "needs-gpu | skipped | needs a GPU that this test pretends is absent" in left_out
    assert "load error" in left_out and "crasher" not in left_out.split("## Environment")[0]
    # the libraries tried that have no adapter are listed with why (implementations.TRIED_WITHOUT_ADAPTER)
    assert "onnx2torch | onnx2torch 1.5.15 has no converter for the ONNX LSTM node" in left_out


def test_features_matrix_shows_pass_fail_and_unsupported_per_implementation(surveyed):
    _status, out = surveyed
    markdown = (out / "survey.md").read_text()
    lengths = _table_row(markdown, "variable_lengths")
    assert lengths["numpy"] == "pass 2"  # lengths-with-state, forward, two dtypes
    assert lengths["shifted"].startswith("fail 2 of 2")
    peepholes = _table_row(markdown, "peepholes")
    assert peepholes["numpy"] == "pass 2" and peepholes["textbook-swapped-rows"] == "unsupported"
    assert peepholes["shifted"].startswith("fail")
    activations = _table_row(markdown, "activations")  # toy-memory-linear: linear cell activations
    assert activations["textbook-swapped-rows"] == "unsupported" and activations["numpy"] == "pass 2"


def test_a_finding_section_comes_from_the_expectations_file(surveyed):
    _status, out = surveyed
    document = results.read(out / "results.json")
    finding, = [f for f in document["survey"]["findings"] if f["adapter"] == "textbook-swapped-rows"]
    assert finding["title"] == "gate blocks i and f swapped"
    assert finding["xfail"] == 2 and finding["xpass"] == 0  # toy-memory-tanh forward, float32 and float64
    assert finding["reproducers"] == [{"test": "tests/harness/test_survey.py::test_evidence_fields_are_read",
                                       "state": "found"}]
    assert finding["upstream"] == ["none found"]
    markdown = (out / "survey.md").read_text()
    section = markdown.split("### 1. textbook-swapped-rows: gate blocks i and f swapped", 1)[1].split("\n## ")[0]
    assert "What the spec says: PyTorch nn.LSTM: weight_ih_l[k] is (W_ii\\|W_if" in section or \
        "What the spec says: PyTorch nn.LSTM: weight_ih_l[k] is (W_ii|W_if" in section
    assert "Upstream: none found" in section and "2 results failed as the entry says" in section
    swapped = _table_row(markdown, "plain")["textbook-swapped-rows"]
    assert swapped.startswith("xfail 2 of")  # toy-memory-tanh's failures are the finding's


def test_failures_without_an_entry_are_listed_for_triage(surveyed):
    _status, out = surveyed
    markdown = (out / "survey.md").read_text()
    unexplained = markdown.split("## Failures no finding explains", 1)[1].split("\n## ")[0]
    assert "| shifted |" in unexplained
    # toy-memory-tanh's failures are the finding's; lengths-with-state's (both dtypes) are not
    assert "| textbook-swapped-rows | 2 | " in unexplained and "toy-memory-tanh" not in unexplained


# A stand-in for `lstm-conformance run` that hangs: on SIGTERM it writes the results so far and
# exits 143, as run does (tests/robustness/test_interrupted_runs.py tests run's side of it).
HANGING_RUN = textwrap.dedent("""
    import signal, sys, time

    def stop(signum, frame):
        from pathlib import Path
        from lstm_conformance.report import results
        done = {"impl": "sleeper", "case": "toy-memory-linear", "dtype": "float32", "check": "forward",
                "status": "pass", "message": ""}
        results.write(Path(sys.argv[1]) / "results.json", results.build([done], {}))
        sys.exit(143)

    signal.signal(signal.SIGTERM, stop)
    time.sleep(600)
""")


def _in_process_survey(out: Path, monkeypatch, **options) -> survey.Survey:
    """A Survey whose probe answers in this process (the probe is not what such a test is about)."""
    chosen = survey.Survey(survey.SurveyOptions(out=out, **options), log=lambda line: None)
    monkeypatch.setattr(chosen, "probe", lambda spec: {"spec": spec, "name": spec, "versions": {}})
    monkeypatch.setattr(survey, "_installed_packages", lambda: [])
    return chosen


def test_time_limit_stops_one_implementation_and_keeps_its_results(tmp_path, monkeypatch):
    # 1 s: ample for the stand-in (which imports only signal, sys and time) to set its SIGTERM handler:
    # ~0.02 s after its start on a 2-core machine, 0.28 s at most with four busy processes beside it
    hanging = _in_process_survey(tmp_path / "out", monkeypatch, impls=["sleeper"], skip_speed=True, time_limit=1)
    monkeypatch.setattr(hanging, "run_argv", lambda spec, folder, name: [sys.executable, "-c", HANGING_RUN,
                                                                         str(folder)])
    outcome = hanging.run()
    entry, = outcome.document["survey"]["implementations"]
    assert entry["status"] == "stopped" and entry["reason"] == \
        "reached the time limit of 1 s; the results so far are kept"
    assert entry["run_exit"] == 143  # stopped by SIGTERM, in time to write its results (not SIGKILL)
    records = results.read(tmp_path / "out" / "results.json")["records"]
    assert {(r["case"], r["status"]) for r in records} == {("toy-memory-linear", "pass")}
    assert "at most 1 s per implementation" in (tmp_path / "out" / "survey.md").read_text()


def test_budget_is_passed_to_each_run_and_its_skipped_units_are_counted_apart(tmp_path, monkeypatch):
    # the probe answers in this process and environment.json has no packages: both are tested on
    # the module's survey; here the run process and the report are what is tested
    monkeypatch.setattr(survey.Survey, "probe", lambda self, spec: {"spec": spec, "name": spec, "versions": {}})
    monkeypatch.setattr(survey, "_installed_packages", lambda: [])
    out = tmp_path / "out"
    status = cli.main(["survey", "--out", str(out), "--impl", "numpy", "-k", "toy-memory", "--check", "forward",
                       "--skip-speed", "--budget-for", "numpy=0.001"])
    assert status == 0
    records = results.read(out / "results.json")["records"]
    skipped = [r for r in records if r["status"] == "skipped"]
    assert skipped and all("--budget" in r["message"] for r in skipped)
    assert len(skipped) < len(records)  # the first unit starts: the budget is read before each unit
    markdown = (out / "survey.md").read_text()
    assert "a budget of 0.001 s for numpy, none for the others" in markdown
    assert re.fullmatch(r"pass \d+ \(\+\d+ skipped\)", _table_row(markdown, "forward", section="## Checks")["numpy"])


def test_installed_packages_are_listed_as_pip_freeze_lists_them(tmp_path, monkeypatch):
    """NAME==VERSION sorted by name, the working directory not searched (as `python -m pip
    freeze` does not: a stale *.egg-info of the checkout there is not what is installed), an
    editable install saying where it points."""
    numpy_line = f"numpy=={metadata.version('numpy')}"
    ours = metadata.distribution("lstm-conformance")
    editable = json.loads(ours.read_text("direct_url.json") or "{}").get("dir_info", {}).get("editable")
    stale = tmp_path / "numpy-0.0.1.dist-info"
    stale.mkdir()
    (stale / "METADATA").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 0.0.1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    packages = survey._installed_packages()
    assert numpy_line in packages and "numpy==0.0.1" not in packages
    names = [re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() for line in packages]
    assert names == sorted(set(names)) and "pip" in names
    line, = [p for p in packages if p.startswith("lstm-conformance==")]
    assert line.endswith(f" (editable install of {json.loads(ours.read_text('direct_url.json'))['url']})") \
        if editable else line == f"lstm-conformance=={ours.version}"


def test_budget_for_one_implementation_overrides_budget(tmp_path):
    def budget_in(options, name):
        argv = survey.Survey(survey.SurveyOptions(out=tmp_path, **options)).run_argv(name, tmp_path / name, name)
        return argv[argv.index("--budget") + 1] if "--budget" in argv else None

    assert budget_in({"budget": 180, "budgets": {"flax": 900}}, "flax") == "900"
    assert budget_in({"budget": 180, "budgets": {"flax": 900}}, "numpy") == "180"
    assert budget_in({"budgets": {"flax": 900}}, "numpy") is None  # the whole selection
    assert survey_report._budgets({"budget": 180, "budgets": {"flax": 900, "haiku": 600}}) == \
        ("; a budget of 180 s per implementation but 900 s for flax, 600 s for haiku (run --budget: the units "
         "not started by then are recorded as skipped)")


@pytest.mark.parametrize("value, message", [
    ("numpy", "--budget-for numpy: expected NAME=SECONDS"),
    ("numpy=soon", "--budget-for numpy=soon: expected NAME=SECONDS"),
    ("numpy=-1", "--budget-for numpy=-1: expected NAME=SECONDS, SECONDS a positive number"),
    ("no-such-impl=5", "--budget-for no-such-impl: not an implementation"),
])
def test_bad_budget_for_is_a_usage_error(tmp_path, capsys, value, message):
    assert cli.main(["survey", "--out", str(tmp_path / "out"), "--impl", "numpy", "--budget-for", value]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "runs").exists()


def _second_survey(out: Path) -> dict:
    """A second survey of numpy into the first's folder with --reuse and the same selection,
    timed this time: the run is reused, the timing is new."""
    log = out / "runs" / "numpy" / "run.log"
    before = log.stat().st_mtime_ns
    with pytest.MonkeyPatch.context() as patch:  # environment.json's packages: tested on the first survey
        patch.setattr(survey, "_installed_packages", lambda: [])
        status = cli.main(["survey", "--out", str(out), "--impl", "numpy", "--check", "forward", "--reuse",
                           "--shapes", "t5b2i4h4", "--quick", *CASES])
    return {"status": status, "before": before, "after": log.stat().st_mtime_ns}


@pytest.fixture(scope="module")
def resurveyed(surveyed):
    """(exit status, the folder, run.log's mtime before and after) of the second survey."""
    first = _shared("first", _first_survey)
    out = Path(first["out"])
    second = _shared("second", lambda _folder: _second_survey(out))
    return second["status"], out, second["before"], second["after"]


def test_reuse_keeps_completed_runs(resurveyed):
    status, out, before, after = resurveyed
    assert status == 0
    assert after == before
    assert _entries(out)["numpy"].get("reused") is True


def test_speed_part_times_each_implementation_against_torch_lstm(resurveyed):
    _status, out, _before, _after = resurveyed
    document = results.read(out / "results.json")
    speed, = document["speed"]
    assert speed["impl"] == "numpy" and speed["baseline"] == "torch-lstm" and speed["ratio"] > 0
    row = _table_row((out / "survey.md").read_text(), "numpy", section="## Speed")
    assert re.match(r"\d+\.\d\d× \(", row["forward float32"])


def test_reuse_runs_again_when_the_adapter_or_its_expectations_changed(tmp_path, monkeypatch):
    """A reused run must have been made with the adapter and the expectations of now: a finding
    added to the expectations file after the run would otherwise show as an unexplained failure.
    The run processes are stand-ins here (the decision to reuse is what is tested; a real run
    reused: test_reuse_keeps_completed_runs), in a folder of this test's own."""
    for name, text in (("more_adapters.py", ADAPTERS), ("swapped.yaml", EXPECTATIONS)):
        (tmp_path / name).write_text(text)
    swapped, shifted = SWAPPED_ROWS, f"{tmp_path / 'more_adapters.py'}:Shifted"
    names = {swapped: "textbook-swapped-rows", shifted: "shifted"}

    def rerun(spec: str) -> list:
        again = survey.Survey(survey.SurveyOptions(out=tmp_path / "out", checks=["forward"], filters=CASES[1::2],
                                                   reuse=True, expectations=[str(tmp_path / "swapped.yaml")]),
                              log=lambda line: None)
        monkeypatch.setattr(again, "probe", lambda spec: {"spec": spec, "name": names[spec]})
        started = []

        def run(argv, log):  # the stand-in leaves a results.json, as a completed run does
            started.append(argv)
            log.parent.mkdir(parents=True, exist_ok=True)
            (log.parent / "results.json").write_text("{}")
            return 0, 0.0, ""
        monkeypatch.setattr(again, "_process", run)
        entry = again.correctness(spec)
        return started if not entry.get("reused") else []

    assert rerun(swapped) and rerun(shifted)  # no run yet: both run
    assert rerun(swapped) == [] and rerun(shifted) == []  # nothing changed: both reused
    (tmp_path / "swapped.yaml").write_text(EXPECTATIONS.replace("gate blocks i and f swapped", "rows swapped"))
    assert rerun(swapped) and rerun(shifted) == []  # the expectations of textbook-swapped-rows changed
    (tmp_path / "more_adapters.py").write_text(ADAPTERS + "\n# changed\n")
    assert rerun(shifted) and rerun(swapped) == []  # shifted's adapter file changed, not SWAPPED_ROWS's


def test_the_probe_names_the_libraries_an_adapter_ran_on(surveyed, library, tmp_path, monkeypatch):
    from lstm_conformance.harness.registry import load_adapter

    _status, out = surveyed
    numpy_entry = _entries(out)["numpy"]
    assert numpy_entry["versions"] == {"numpy": metadata.version("numpy")}
    probe = json.loads((out / "runs" / "probes" / "numpy.json").read_text())
    # the adapter ran once, on the smallest case of the library (the probe read the survey's pickled list)
    smallest = survey_worker.trial_run(load_adapter("numpy"), survey_worker.trial_candidates(library))
    assert probe["trial_run"] == smallest and smallest.endswith("[float32]")
    # an adapter importing torch and onnxruntime, of which only onnxruntime was loaded when it ran
    adapter = tmp_path / "two_libraries.py"
    adapter.write_text("import numpy\nimport torch\n\ndef prepare():\n    import onnxruntime\n")
    spec = f"{adapter}:Adapter"
    assert set(survey_worker.library_versions(spec)) == {"numpy", "torch", "onnxruntime"}  # its imports
    assert set(survey_worker.library_versions(spec, present={"numpy", "onnxruntime"})) == {"numpy", "onnxruntime"}
    # Keras names the array library it computed with: the adapter's other array libraries are left out
    monkeypatch.setitem(sys.modules, "keras", type(sys)("keras"))
    sys.modules["keras"].backend = type("backend", (), {"backend": staticmethod(lambda: "jax")})
    assert survey_worker.keras_backend({"keras", "torch"}) == {"jax", "jaxlib"}
    present = {"numpy", "torch", "onnxruntime"}
    named = set(survey_worker.library_versions(spec, present, {"jax", "jaxlib"}))
    assert "torch" not in named and {"numpy", "onnxruntime"} <= named


@pytest.mark.parametrize("argv, message", [
    (["--set", "no-such-set"], "unknown benchmark set"),
    (["--check", "no-such-check"], "--check"),
    (["--cases", "no/such/file.yaml"], "--cases no/such/file.yaml: no such file"),
    (["--time-limit", "0"], "--time-limit"),
])
def test_bad_options_are_usage_errors(tmp_path, capsys, argv, message):
    assert cli.main(["survey", "--out", str(tmp_path / "out"), "--impl", "numpy", *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_evidence_fields_are_read(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(EXPECTATIONS)
    entry, = expectations.load(path).entries
    assert (entry.finding, entry.upstream) == ("gate blocks i and f swapped", "none found")
    assert entry.reproducer.endswith("::test_evidence_fields_are_read") and entry.spec.startswith("PyTorch")
    path.write_text(EXPECTATIONS.replace("upstream: none found", "upstream: ''"))
    with pytest.raises(expectations.ExpectationsError, match=r"xfail\[0\]\.upstream: expected a non-empty string"):
        expectations.load(path)


def test_reproducer_state_names_what_is_missing():
    assert survey.reproducer_state(None) == "not given"
    assert survey.reproducer_state("tests/harness/test_survey.py::test_evidence_fields_are_read") == "found"
    assert "has no test test_nothing" in survey.reproducer_state("tests/harness/test_survey.py::test_nothing")
    assert "not found" in survey.reproducer_state("tests/survey/test_nowhere.py::test_x")


@pytest.mark.parametrize("counts, text", [
    ({"pass": 4}, "pass 4"),
    ({"pass": 3, "fail": 1, "unsupported": 2}, "fail 1 of 4 (+2 unsupported)"),
    ({"pass": 3, "skipped": 5, "unsupported": 2}, "pass 3 (+2 unsupported, +5 skipped)"),
    ({"pass": 3, "xfail": 1}, "xfail 1 of 4"),
    ({"error": 2, "pass": 1}, "error 2 of 3"),
    ({"unsupported": 5}, "unsupported"),
    ({}, "–"),
])
def test_status_cell(counts, text):
    assert survey_report.status_cell(Counter(counts)) == text


def test_one_behaviour_met_by_two_adapters_is_one_finding():
    from lstm_conformance.harness.survey import _merged_across_adapters

    def finding(adapter, title, xfail):
        return {"implementation": "keras", "adapter": adapter, "title": title, "does": [f"{adapter} text"],
                "spec": ["§8"], "reproducers": [{"test": "t.py::test_x", "state": "found"}], "upstream": ["none found"],
                "entries": [{"case": "batch-0"}], "file": f"{adapter}.yaml", "versions": {}, "not_applied": None,
                "xfail": xfail, "xpass": 0, "not_run": 0, "examples": [f"batch-0 [float32] forward ({adapter})"]}
    merged = _merged_across_adapters([finding("keras", "B = 0 raises", 14), finding("keras-jax", "tanh in float32", 3),
                                      finding("keras-tensorflow", "B = 0 raises", 14)])
    assert [(f["adapter"], f["title"], f["xfail"]) for f in merged] == [
        ("keras, keras-tensorflow", "B = 0 raises", 28), ("keras-jax", "tanh in float32", 3)]
    both = merged[0]
    assert both["does"] == ["keras text", "keras-tensorflow text"] and both["spec"] == ["§8"]
    assert both["reproducers"] == [{"test": "t.py::test_x", "state": "found"}] and both["entries"] == [{"case": "batch-0"}]
    assert both["file"] == "keras.yaml; keras-tensorflow.yaml"
    assert both["examples"] == ["keras: batch-0 [float32] forward (keras)",
                                "keras-tensorflow: batch-0 [float32] forward (keras-tensorflow)"]
