"""`lstm-conformance survey`: every installed implementation over the whole library with every
check, and one comparison report of them all (report/survey_report.py renders it).

Each implementation runs in processes of its own, so that heavy frameworks never share one and
a crash or a hang costs one implementation: a probe (survey_worker probe: its name, skip_reason()
and the versions of the libraries it runs on, seen in a trial run), `lstm-conformance run` (the
shipped expectations of the adapter are applied, as in any run), then the speed part (survey_worker speed: the
benchmark set timed against torch-lstm in the same process). What each leaves is kept in
OUT/runs/NAME/ (probe.json, results.json, results.jsonl, run.log, speed.json, speed.log,
survey-run.json); the survey then writes OUT/results.json (every record, the speed records,
coverage, case features, and a "survey" block: the implementations, what became of each, and
the findings assembled from the expectations files), OUT/survey.md, OUT/survey.html and
OUT/environment.json (the environment and the installed packages).

A finding is an expectations entry (or the entries sharing its `finding` title, else its
reason) of an implementation that ran: what the implementation does (reason), what the spec
says (spec), the library-only reproducer (reproducer; the report says whether the test is
there), the upstream reference (upstream), the versions, and the results of this survey it
turned into xfail (or xpass: the entry may be stale).
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Optional

from ..checks import CHECKS
from ..report import results
from ..report.results import Status
from ..spec.loader import load_cases
from . import environment, expectations
from ..implementations import BUILTIN, TRIED_WITHOUT_ADAPTER
from .registry import available_names

# Built-ins a survey leaves out unless --impl names them, with the reason the report gives.
DEFAULT_LEFT_OUT = {
    "triton": "our own Triton kernel: without a GPU it runs under TRITON_INTERPRET, far too slowly for the whole "
              "library (name it with --impl triton to include it)",
}
SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the checkout: where reproducer paths are read
GRACE_SECONDS = 60  # after SIGTERM (time limit, Ctrl-C), a run writes what it has; then it is killed


class SurveyError(ValueError):
    """A bad option (the CLI prints it as a usage error)."""


@dataclass
class SurveyOptions:
    out: Path
    impls: Optional[list] = None  # None: every available implementation but DEFAULT_LEFT_OUT
    cases: list = field(default_factory=list)  # spec case files (default: the library)
    filters: list = field(default_factory=list)  # -k patterns, as for run
    checks: list = field(default_factory=list)
    dtypes: list = field(default_factory=list)
    bench_set: str = "cpu"
    shapes: list = field(default_factory=list)  # replace the set's shapes (float32)
    skip_speed: bool = False
    quick: bool = False  # fewer benchmark rounds
    timeout: Optional[float] = None  # seconds per case (run --timeout, which isolates the adapter)
    time_limit: Optional[float] = None  # seconds for one implementation's run process
    budget: Optional[float] = None  # run --budget: seconds after which no new unit starts
    budgets: dict = field(default_factory=dict)  # {implementation: its budget} (--budget-for), over budget
    expectations: list = field(default_factory=list)  # extra expectations files (FILE or builtin:NAME)
    reuse: bool = False  # keep the runs already complete in OUT/runs
    jobs: int = 1  # implementations whose correctness runs at the same time (the timings run alone)
    command: str = ""  # the command line, for the report


@dataclass
class Outcome:
    document: dict
    written: list
    interrupted: bool = False

    @property
    def ran(self) -> list:
        return [i for i in self.document["survey"]["implementations"] if i["status"] in RESULTS_KEPT]


# What became of an implementation: ran (exit status 0 or 1), crashed (the run process died),
# stopped (it reached --time-limit; its results so far are kept), interrupted (Ctrl-C),
# load error (the adapter cannot be loaded), skipped (skip_reason() is set), not selected.
RESULTS_KEPT = ("ran", "crashed", "stopped", "interrupted")
LEFT_OUT_STATUSES = ("load error", "skipped", "not selected")


def folder_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "adapter"


def _python(*args) -> list:
    return [sys.executable, *args]


def _run_process(argv: list, log: Path, time_limit: Optional[float] = None, running: Optional[set] = None) -> tuple:
    """(exit status, seconds, why it was stopped or "") of `argv`, its output in `log`. In a
    session of its own, so that the survey decides when it stops: at the time limit or on
    Ctrl-C it gets SIGTERM (a run then writes its results so far), then SIGKILL."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as handle:
        handle.write("$ " + " ".join(argv) + "\n")
        handle.flush()
        process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        running = set() if running is None else running
        running.add(process)
        stopped = ""
        try:
            process.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            stopped = f"reached the time limit of {time_limit:g} s"
            _stop(process)
        except KeyboardInterrupt:
            _stop(process)
            raise
        finally:
            running.discard(process)
    return process.returncode, time.perf_counter() - started, stopped


def _stop(process) -> None:
    for sig, wait in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _log_tail(log: Path, lines: int = 1) -> str:
    try:
        text = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Survey:
    """One survey: its options, OUT/runs, and a log function for progress lines."""

    def __init__(self, options: SurveyOptions, log: Callable[[str], None] = print):
        self.options, self.log = options, log
        self.runs = options.out / "runs"
        self.processes: set = set()  # the processes running now (Ctrl-C stops them all)
        self.stopping = False
        self._trial_cases_lock, self._trial_cases_written = threading.Lock(), False
        self.user_expectations = []
        for path in options.expectations:
            try:
                self.user_expectations.append(expectations.load(path))
            except expectations.ExpectationsError as err:
                raise SurveyError(f"--expectations {err}") from None
        for path in options.cases:
            if not Path(path).is_file():
                raise SurveyError(f"--cases {path}: no such file")
        if options.out.exists() and not options.out.is_dir():
            raise SurveyError(f"--out {options.out}: exists and is not a folder")

    def stop_all(self) -> None:
        self.stopping = True
        for process in list(self.processes):
            _stop(process)

    # ------------------------------------------------------------------ what to run

    def selected(self) -> tuple[list, list]:
        """(specs to survey, entries of the implementations left out by default)."""
        if self.options.impls:
            return list(dict.fromkeys(self.options.impls)), []
        names = available_names()
        left = [{"spec": n, "name": n, "status": "not selected", "reason": DEFAULT_LEFT_OUT[n]}
                for n in names if n in DEFAULT_LEFT_OUT]
        return [n for n in names if n not in DEFAULT_LEFT_OUT], left

    def run_argv(self, spec: str, folder: Path, name: str) -> list:
        o = self.options
        argv = _python("-m", "lstm_conformance.cli", "run", "--impl", spec, "--out", str(folder), "--allow-empty", "-q")
        for flag, values in (("--cases", o.cases), ("-k", o.filters), ("--check", o.checks), ("--dtype", o.dtypes)):
            for value in values:
                argv += [flag, str(value)]
        if o.timeout:
            argv += ["--timeout", f"{o.timeout:g}"]
        budget = self.budget_of(spec, name)
        if budget:  # units left out by the budget are recorded as skipped, saying so
            argv += ["--budget", f"{budget:g}", "--allow-incomplete"]
        for path, exp in zip(o.expectations, self.user_expectations):
            if exp.adapter == name:
                argv += ["--expectations", str(path)]
        return argv

    def budget_of(self, spec: str, name: str) -> Optional[float]:
        """The --budget of one implementation: its --budget-for (by name or by --impl spec), else --budget."""
        budgets = self.options.budgets
        return budgets.get(name, budgets.get(spec, self.options.budget))

    def run_inputs(self, spec: str, name: str) -> dict:
        """SHA-256 of what a run's results depend on beside the options: the adapter's source files
        and the expectations files its run applies (--reuse keeps a run only when they are the same)."""
        from . import survey_worker

        applied = [Path(exp.file) for exp in self.user_expectations if exp.adapter == name]
        applied += [p for p in expectations._shipped_files() if expectations._read(p).adapter == name]
        digest = lambda path: hashlib.sha256(Path(path).read_bytes()).hexdigest()  # noqa: E731
        return {"adapter": {_display_path(p): digest(p) for p in survey_worker.adapter_files(spec)},
                "expectations": {_display_path(p): digest(p) for p in applied}}

    def speed_argv(self, spec: str, folder: Path) -> list:
        o = self.options
        argv = _python("-m", "lstm_conformance.harness.survey_worker", "speed", spec, "--out",
                       str(folder / "speed.json"))
        if o.shapes:
            for shape in o.shapes:
                argv += ["--shapes", shape]
        else:
            argv += ["--set", o.bench_set]
        return argv + (["--quick"] if o.quick else [])

    # ------------------------------------------------------------------ one implementation

    def trial_cases(self) -> Path:
        """The file of the cases a probe's trial run picks from (survey_worker.trial_candidates
        of the library, pickled), written once per survey: each probe process would otherwise
        parse and check the whole library (~0.15 s of CPU) to find its smallest cases."""
        from . import survey_worker

        with self._trial_cases_lock:
            path = self.runs / "probes" / "trial-cases.pickle"
            if not self._trial_cases_written:
                path.parent.mkdir(parents=True, exist_ok=True)
                part = path.with_name(path.name + ".tmp")
                part.write_bytes(pickle.dumps(survey_worker.trial_candidates(load_cases()),
                                              protocol=pickle.HIGHEST_PROTOCOL))
                os.replace(part, path)
                self._trial_cases_written = True
            return path

    def probe(self, spec: str) -> dict:
        out = self.runs / "probes" / f"{folder_name(spec)}.json"
        out.unlink(missing_ok=True)
        code, seconds, _ = self._process(_python("-m", "lstm_conformance.harness.survey_worker", "probe", spec,
                                                 "--out", str(out), "--trial-cases", str(self.trial_cases())),
                                         out.with_suffix(".log"))
        try:
            answer = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            answer = {}
        if code != 0 and answer.get("trial_run", "").startswith("died"):  # loaded, then killed by its trial run
            answer["trial_run"] = f"died ({_exit_text(code)}): {_log_tail(out.with_suffix('.log'))}"
        elif code != 0 or not answer:
            tail = _log_tail(out.with_suffix(".log"), 3)
            return {"spec": spec, "error": f"the probe failed ({_exit_text(code)}): {tail}", "seconds": seconds}
        return answer

    def _previous(self, folder: Path) -> dict:
        try:
            return json.loads((folder / "survey-run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def correctness(self, spec: str) -> dict:
        """Probe and run one implementation; returns its entry of the survey block."""
        probe = self.probe(spec)
        entry = {"spec": spec, "name": probe.get("name", spec), "description": probe.get("description", ""),
                 "versions": probe.get("versions", {}), "probe_seconds": round(probe.get("seconds", 0.0), 1)}
        if probe.get("error"):  # the adapter cannot be loaded, or its skip_reason() raised
            return dict(entry, status="load error", reason=probe["error"])
        if probe.get("skip_reason"):
            return dict(entry, status="skipped", reason=probe["skip_reason"])
        folder = self.runs / folder_name(entry["name"])
        entry["folder"] = str(folder)
        previous = self._previous(folder) if self.options.reuse else {}
        run_argv = self.run_argv(spec, folder, entry["name"])
        inputs = self.run_inputs(spec, entry["name"])
        changed = [part for part in ("adapter", "expectations") if previous.get("inputs", {}).get(part) != inputs[part]]
        complete = previous.get("status") == "ran" and previous.get("run_argv", [None])[1:] == run_argv[1:] \
            and (folder / "results.json").is_file()
        if complete and not changed:
            entry.update({k: previous[k] for k in ("status", "reason", "run_seconds", "run_exit", "run_started")
                          if k in previous}, reused=True)
            self.log(f"{entry['name']}: reusing the run in {folder}")
        else:
            if complete:
                self.log(f"{entry['name']}: not reusing the run in {folder}: its {' and '.join(changed)} files "
                         "changed since (or the run predates their record)")
            self.log(f"{entry['name']}: running the library ({' '.join(run_argv[3:])})")
            entry["run_started"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            code, seconds, stopped = self._process(run_argv, folder / "run.log")
            entry.update(self._run_status(folder, code, stopped), run_seconds=round(seconds, 1), run_exit=code)
        entry.update(run_argv=run_argv, inputs=inputs)
        if previous.get("speed") and previous.get("inputs", {}).get("adapter") == inputs["adapter"]:
            entry["previous_speed"] = {k: previous[k] for k in ("speed", "speed_argv") if k in previous}
        self._save(entry)
        self.log(f"{entry['name']}: {entry['status']}" + (f" ({entry['reason']})" if entry.get("reason") else "")
                 + (f" in {entry['run_seconds']:.0f} s" if entry.get("run_seconds") is not None else ""))
        return entry

    def timing(self, entry: dict) -> None:
        """Time one implementation whose run went ahead (entry["speed"] says how it went)."""
        previous = entry.pop("previous_speed", {})
        if entry.get("status") in LEFT_OUT_STATUSES:
            return
        if self.options.skip_speed:
            entry["speed"] = {"status": "not measured", "reason": "--skip-speed"}
        elif entry["status"] not in ("ran", "crashed", "stopped"):
            entry["speed"] = {"status": "not measured", "reason": f"the run ended in: {entry['status']}"}
        else:
            folder = Path(entry["folder"])
            speed_argv = self.speed_argv(entry["spec"], folder)
            if previous.get("speed", {}).get("status") == "ok" and previous.get("speed_argv", [None])[1:] == \
                    speed_argv[1:] and (folder / "speed.json").is_file():
                entry["speed"] = dict(previous["speed"], reused=True)
            else:
                self.log(f"{entry['name']}: timing ({' '.join(speed_argv[5:])})")
                code, seconds, stopped = self._process(speed_argv, folder / "speed.log")
                ok = code == 0 and not stopped and (folder / "speed.json").is_file()
                entry["speed"] = {"status": "ok" if ok else "failed", "seconds": round(seconds, 1)}
                if not ok:
                    entry["speed"]["reason"] = stopped or f"{_exit_text(code)}: {_log_tail(folder / 'speed.log')}"
            entry["speed_argv"] = speed_argv
        self._save(entry)

    def _save(self, entry: dict) -> None:
        folder = Path(entry["folder"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "survey-run.json").write_text(json.dumps(entry, indent=1) + "\n", encoding="utf-8")

    def _process(self, argv: list, log: Path) -> tuple:
        if self.stopping:
            return 130, 0.0, "the survey was interrupted before it started"
        return _run_process(argv, log, self.options.time_limit, self.processes)

    def _run_status(self, folder: Path, code: int, stopped: str) -> dict:
        finished = (folder / "results.json").is_file()
        if stopped:
            return {"status": "stopped", "reason": stopped + ("; the results so far are kept" if finished else "")}
        if code in (0, 1) and finished:
            return {"status": "ran"}
        if code == 2:
            return {"status": "load error", "reason": _log_tail(folder / "run.log")}
        if code in (130, 143):
            return {"status": "interrupted", "reason": "the run was interrupted"}
        where = ""
        journal = folder / "results.jsonl"
        if journal.is_file():
            _records, running = results.read_journal(journal)
            if running:
                where = f" while running {running['case']} [{running['dtype']}]"
        return {"status": "crashed", "reason": f"the run process {_exit_text(code)}{where}; the results before it "
                                                 "are kept"}

    # ------------------------------------------------------------------ the whole survey

    def run(self) -> Outcome:
        """The correctness runs (in `jobs` at a time), then the timings one after the other (so
        that no survey process competes with them), then the report."""
        started = datetime.datetime.now(datetime.timezone.utc)
        clock = time.perf_counter()
        specs, entries = self.selected()
        unknown = sorted(set(self.options.budgets) - set(specs) - set(BUILTIN))
        if unknown:
            raise SurveyError(f"--budget-for {', '.join(unknown)}: not an implementation; expected a built-in name "
                              f"({', '.join(BUILTIN)}) or the text given to --impl")
        interrupted = False
        try:
            with ThreadPoolExecutor(max_workers=self.options.jobs) as pool:
                futures = [pool.submit(self.correctness, spec) for spec in specs]
                collected = []
                try:
                    for future in futures:
                        collected.append(future.result())
                except KeyboardInterrupt:
                    self.stop_all()  # the runs write their results so far; their workers then return
                    collected += [f.result() for f in futures[len(collected):] if not f.cancel()]
                    raise
                finally:
                    entries += collected
            for entry in entries:
                self.timing(entry)
        except KeyboardInterrupt:
            interrupted = True
            self.stop_all()
            done = {e["spec"] for e in entries}
            entries += [{"spec": s, "name": s, "status": "interrupted", "reason": "Ctrl-C"} for s in specs
                        if s not in done]
        meta = {"command": self.options.command, "started": started.isoformat(timespec="seconds"),
                "seconds": round(time.perf_counter() - clock, 1), "interrupted": interrupted,
                "selection": {"cases": [str(c) for c in self.options.cases], "filters": list(self.options.filters),
                              "checks": list(self.options.checks), "dtypes": list(self.options.dtypes),
                              "timeout": self.options.timeout, "time_limit": self.options.time_limit,
                              "budget": self.options.budget, "budgets": dict(self.options.budgets)},
                "speed": {"set": None if self.options.shapes else self.options.bench_set,
                          "shapes": list(self.options.shapes), "skipped": self.options.skip_speed,
                          "quick": self.options.quick},
                "implementations": entries,
                "tried_without_adapter": dict(TRIED_WITHOUT_ADAPTER)}
        document = assemble(meta, self.options, self.user_expectations)
        written = write(document, self.options.out)
        return Outcome(document, written, interrupted)


# ---------------------------------------------------------------------- assembling the document

def case_features(case) -> list[str]:
    """The optional features a case uses (Capabilities names), and 'activations' when it uses
    activations other than the standard ones."""
    features = set(case.config.features())
    if "h0" in case.inputs or "c0" in case.inputs:
        features.add("initial_state")
    if "lengths" in case.inputs:
        features.add("variable_lengths")
    if case.options.get("activations") or case.options.get("activations_reverse"):
        features.add("activations")
    return sorted(features)


# What the survey's results.json leaves out of each record, to stay a few MB for a dozen
# implementations: the per-array comparisons, tracebacks, per-step errors and the like. Each
# run's own results.json (OUT/runs/NAME/) keeps them; the report does not read them.
SLIM_DROPS = ("outputs", "gradients", "traceback", "invalid_inputs", "literals", "spread", "error_by_step",
              "tolerance", "output_dtypes", "max_rel", "max_ulp")
SLIM_MESSAGE = 400  # characters of a message kept (the run's own results.json has the whole text)


def slim(record: dict) -> dict:
    out = {k: v for k, v in record.items() if k not in SLIM_DROPS and v is not None and v != ""}
    expected = out.get("expected_failure")
    if isinstance(expected, dict):  # its reason is the finding's, held once in "survey"
        prefix = f"expected {expected.get('status')} ({expected.get('reason')}): "
        if out.get("message", "").startswith(prefix):
            out["message"] = out["message"][len(prefix):]
        out["expected_failure"] = {k: v for k, v in expected.items() if k != "reason"}
    message = out.get("message", "")
    if len(message) > SLIM_MESSAGE:
        out["message"] = message[:SLIM_MESSAGE] + " [...]"
    return out


def _implementation_documents(entries: list) -> list:
    """(entry, its run's document) for each implementation whose results are kept: results.json,
    else what its journal holds (a run that crashed)."""
    out = []
    for entry in entries:
        if entry.get("status") not in RESULTS_KEPT or not entry.get("folder"):
            continue
        folder = Path(entry["folder"])
        document = None
        if (folder / "results.json").is_file():
            try:
                document = results.read(folder / "results.json")
            except (OSError, ValueError) as err:
                entry["reason"] = (entry.get("reason", "") + f"; its results.json cannot be read: {err}").lstrip("; ")
        if document is None and (folder / "results.jsonl").is_file():
            records, _running = results.read_journal(folder / "results.jsonl")
            document = {"records": records}
        if document is not None:
            speed_file = folder / "speed.json"
            if (entry.get("speed") or {}).get("status") == "ok" and speed_file.is_file():
                document["speed"] = json.loads(speed_file.read_text(encoding="utf-8"))["records"]
            else:
                document["speed"] = []
            out.append((entry, document))
    return out


def assemble(meta: dict, options: SurveyOptions, user_expectations: list) -> dict:
    records, speed, cases = [], [], {}
    coverage = {"columns": None, "rows": {}, "notes": {}}
    for entry, document in _implementation_documents(meta["implementations"]):
        own = document.get("records", [])
        entry["counts"] = {str(s): sum(1 for r in own if r.get("status") == s) for s in Status}
        entry["git_revision"] = (document.get("environment") or {}).get("git_revision")  # of its run
        records += own
        speed += document.get("speed", [])
        cases.update(document.get("cases") or {})
        part = document.get("coverage") or {}
        coverage["columns"] = coverage["columns"] or part.get("columns")
        coverage["rows"].update(part.get("rows") or {})
        coverage["notes"].update(part.get("notes") or {})
    for case in load_cases(options.cases or None):
        cases.setdefault(case.id, {"group": case.group, "about": case.about})
        cases[case.id]["features"] = case_features(case)
    meta["findings"] = findings(meta["implementations"], records, user_expectations)
    records = [slim(r) for r in records]
    document = results.build(records, environment.collect(), speed, {"command": "survey"})
    document.update(checks=list(CHECKS), coverage=coverage, cases=dict(sorted(cases.items())), survey=meta)
    return document


def _display_path(path) -> str:
    try:
        return str(Path(path).resolve().relative_to(SOURCE_ROOT))
    except ValueError:
        return str(path)


def reproducer_state(reproducer: Optional[str]) -> str:
    """'found', or what is wrong with an entry's reproducer ('path::test' in the checkout)."""
    if not reproducer:
        return "not given"
    path, _, test = reproducer.partition("::")
    file = Path(path) if Path(path).is_absolute() else SOURCE_ROOT / path
    if not file.is_file():
        return f"{path} not found in {SOURCE_ROOT}"
    name = test.split("[")[0].split("::")[-1]
    if name and not re.search(rf"^\s*(async\s+)?def {re.escape(name)}\b", file.read_text(encoding="utf-8"), re.M):
        return f"{path} has no test {name}"
    return "found"


def _title(entry) -> str:
    if entry.finding:
        return entry.finding
    first = re.split(r"(?<=[.;:])\s", entry.reason, maxsplit=1)[0]
    return first if len(first) <= 120 else first[:117] + "..."


def _same_file(a, b) -> bool:
    return bool(a) and bool(b) and os.path.realpath(str(a)) == os.path.realpath(str(b))


def expectation_sets_for(name: str, user_expectations: list) -> list:
    """The expectations files about adapter `name`: those given with --expectations, else the
    shipped ones (as run applies them), read whatever versions they name."""
    given = [e for e in user_expectations if e.adapter == name]
    if given:
        return given
    return [expectations._read(p) for p in expectations._shipped_files() if expectations._read(p).adapter == name]


def findings(entries: list, records: list, user_expectations: list) -> list[dict]:
    out = []
    for entry in entries:
        if entry.get("status") not in RESULTS_KEPT:
            continue
        name = entry["name"]
        mine = [r for r in records if r.get("impl") == name]
        own = [r for r in mine if r.get("expected_failure")]
        skipped = [r for r in mine if r.get("status") == Status.SKIPPED]
        for exp in expectation_sets_for(name, user_expectations):
            note = expectations.version_note(exp)
            groups: dict = {}
            for item in exp.entries:
                groups.setdefault(item.finding or item.reason, []).append(item)
            for items in groups.values():
                keys = {(i.pattern, i.reason) for i in items}
                matched = [r for r in own if _same_file(r["expected_failure"].get("file"), exp.file)
                           and (r["expected_failure"].get("pattern"), r["expected_failure"].get("reason")) in keys]
                first = items[0]
                # the results an entry names that were not run here (a --budget); an entry bound to a
                # message names no result before it has run
                unrun = [r for r in skipped if any(i.message is None and i.matches(r) for i in items)]
                reproducers = list(dict.fromkeys(i.reproducer for i in items if i.reproducer))
                out.append({
                    "implementation": exp.implementation or name, "adapter": name, "title": _title(first),
                    "does": list(dict.fromkeys(i.reason for i in items)),
                    "spec": list(dict.fromkeys(i.spec for i in items if i.spec)),
                    "reproducers": [{"test": t, "state": reproducer_state(t)} for t in reproducers],
                    "upstream": list(dict.fromkeys(i.upstream for i in items if i.upstream)),
                    "entries": [{k: v for k, v in (("case", i.pattern), ("dtype", i.dtype), ("check", i.check),
                                                   ("message", i.message)) if v} for i in items],
                    "file": _display_path(exp.file),
                    "versions": {"range": exp.versions, "installed": entry.get("versions", {}),
                                 "implementation": expectations.installed_version(exp.implementation or name)},
                    "not_applied": note,
                    "xfail": sum(1 for r in matched if r["status"] == Status.XFAIL),
                    "xpass": sum(1 for r in matched if r["status"] == Status.XPASS),
                    "not_run": len(unrun),
                    "examples": [f"{r['case']} [{r['dtype']}] {results.check_of(r)}" for r in matched[:5]],
                })
    return _merged_across_adapters(out)


def _merged_across_adapters(found: list) -> list:
    """One finding per implementation and title: two adapters running the same library the
    same way (keras on the TensorFlow backend, and keras-tensorflow) meet one behaviour, which is
    one finding with both adapters' evidence and counts, not two."""
    merged: dict = {}
    for f in found:
        key = (f["implementation"], f["title"])
        if key not in merged:
            merged[key] = dict(f, examples=list(f["examples"]))
            continue
        into = merged[key]
        if len(into["adapter"].split(", ")) == 1:  # examples say which adapter once there are two
            into["examples"] = [f"{into['adapter']}: {e}" for e in into["examples"]]
        into["adapter"] += f", {f['adapter']}"
        into["file"] += f"; {f['file']}"
        for field in ("does", "spec", "upstream"):
            into[field] = list(dict.fromkeys(into[field] + f[field]))
        into["reproducers"] += [r for r in f["reproducers"] if r not in into["reproducers"]]
        into["entries"] += [e for e in f["entries"] if e not in into["entries"]]
        for field in ("xfail", "xpass", "not_run"):
            into[field] += f[field]
        into["examples"] = (into["examples"] + [f"{f['adapter']}: {e}" for e in f["examples"]])[:6]
        into["not_applied"] = into["not_applied"] or f["not_applied"]
    return list(merged.values())


def _installed_packages() -> list[str]:
    """The installed distributions as `pip freeze --all` lists them (NAME==VERSION, sorted by
    name, the first of a name on the path), read with importlib.metadata in this process
    instead of a pip process (0.4 s of CPU). As pip does, the working directory is not
    searched (a stale *.egg-info there is not what is installed). An editable install is one
    line with where it points, "NAME==VERSION (editable install of URL)", where pip writes a
    comment and "-e PATH"."""
    paths = [p for p in sys.path if p not in ("", os.getcwd())]
    found: dict = {}
    for dist in metadata.distributions(path=paths):
        name = dist.metadata["Name"]
        key = re.sub(r"[-_.]+", "-", name or "").lower()
        if not key or key in found:
            continue
        line = f"{name}=={dist.version}"
        try:
            editable = json.loads(dist.read_text("direct_url.json") or "{}")
        except ValueError:
            editable = {}
        if editable.get("dir_info", {}).get("editable"):
            line += f" (editable install of {editable.get('url')})"
        found[key] = line
    return [found[key] for key in sorted(found)]


def write(document: dict, out: Path) -> list[Path]:
    from ..report import survey_report  # the renderers

    out.mkdir(parents=True, exist_ok=True)
    env = {"environment": document["environment"], "python_executable": sys.executable,
           "packages": _installed_packages()}
    results.atomic_write_text(out / "environment.json", json.dumps(env, indent=1, default=str) + "\n")
    results.write(out / "results.json", document)
    results.atomic_write_text(out / "survey.md", survey_report.markdown(document))
    results.atomic_write_text(out / "survey.html", survey_report.html_page(document))
    return [out / "survey.md", out / "survey.html", out / "results.json", out / "environment.json"]


# ---------------------------------------------------------------------- command line

def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="folder for survey.md, survey.html, results.json, environment.json and runs/ "
                             "(default: reports/survey/<today's date, UTC>)")
    parser.add_argument("--impl", action="append", metavar="NAME|file.py:Class|module:Class",
                        help="implementations to survey (repeatable; default: every available one but "
                             f"{', '.join(DEFAULT_LEFT_OUT)}, those whose library is missing listed as left out)")
    parser.add_argument("--cases", action="append", default=[], metavar="FILE",
                        help="spec case file (repeatable; default: the built-in library)")
    parser.add_argument("-k", "--filter", action="append", default=[], metavar="PATTERN",
                        help="only these cases (as for run)")
    parser.add_argument("--check", action="append", default=[], metavar="NAME", help="only these checks")
    parser.add_argument("--dtype", action="append", default=[], help="only these dtypes")
    parser.add_argument("--set", default="cpu", help="benchmark set of the speed part (default: cpu)")
    parser.add_argument("--shapes", action="append", default=[], metavar="DESC",
                        help="time these shapes (float32) instead of the set's")
    parser.add_argument("--skip-speed", action="store_true", help="no speed part")
    parser.add_argument("--quick", action="store_true", help="fewer benchmark rounds")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="a case taking longer is an error (run --timeout: the adapter runs isolated)")
    parser.add_argument("--budget", type=float, metavar="SECONDS",
                        help="run each implementation with run --budget SECONDS: its units in an order that "
                             "reaches every feature, check and dtype first, none started after SECONDS (those "
                             "left are recorded as skipped)")
    parser.add_argument("--budget-for", action="append", default=[], metavar="NAME=SECONDS",
                        help="the --budget of implementation NAME (repeatable): over --budget, or the only one "
                             "(the others then run the whole selection)")
    parser.add_argument("--time-limit", type=float, metavar="SECONDS",
                        help="stop an implementation's run (or timing) after this long, keeping its results so far")
    parser.add_argument("--expectations", action="append", default=[], metavar="FILE",
                        help="expectations file of an adapter (repeatable); replaces the shipped file of that "
                             "adapter in its run and in the findings")
    parser.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                        help="run the correctness of N implementations at a time (default 1); the timings "
                             "always run one after the other, after them")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the runs of OUT/runs made by the same command and completed, with the "
                             "adapter's source files and the expectations files of now; run the others")


def options_from(args, command: str) -> SurveyOptions:
    if args.jobs < 1:
        raise SurveyError(f"--jobs {args.jobs}: expected at least 1")
    for value, option in ((args.timeout, "--timeout"), (args.time_limit, "--time-limit"), (args.budget, "--budget")):
        if value is not None and not 0 < value < float("inf"):
            raise SurveyError(f"{option} {value}: expected a positive number of seconds")
    budgets = {}
    for text in args.budget_for:
        name, _, seconds = text.partition("=")
        try:
            value = float(seconds)
        except ValueError:
            value = None
        if not name.strip() or value is None or not 0 < value < float("inf"):
            raise SurveyError(f"--budget-for {text}: expected NAME=SECONDS, SECONDS a positive number")
        budgets[name.strip()] = value
    out = args.out or Path("reports") / "survey" / datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    return SurveyOptions(out=out, impls=args.impl, cases=args.cases, filters=args.filter, checks=args.check,
                         dtypes=args.dtype, bench_set=args.set, shapes=args.shapes, skip_speed=args.skip_speed,
                         quick=args.quick, timeout=args.timeout, time_limit=args.time_limit, budget=args.budget, budgets=budgets,
                         expectations=args.expectations, reuse=args.reuse, jobs=args.jobs, command=command)


def check_selection(options: SurveyOptions) -> None:
    """Fail before any process starts on a bad benchmark set, shape or check name."""
    from .. import bench
    from ..checks import select_checks

    if not options.skip_speed:
        try:
            bench.plan_run(options.bench_set, options.shapes or None)
        except ValueError as err:
            raise SurveyError(str(err)) from None
    if options.checks:
        try:
            select_checks(options.checks)
        except ValueError as err:
            raise SurveyError(f"--check: {err}") from None
