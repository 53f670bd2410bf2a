"""What `run` and `report` do, as functions of plain values. They run the correctness units
through a session (journal, expectations, --maxfail), then, for a report, the error-by-step
data and the benchmarks, and write the documents. They return an Outcome; the command line
only parses its arguments and prints (cli.py), and the Python API calls the same engine.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .. import bench
from ..checks import ReferenceCache
from ..report import results, summary
from ..report.results import FAILED
from .crash_watch import CrashWatch
from .expectations import gate_status
from . import profiles
from .parallel import WorkerSetup, run_cases
from .planning import coverage_first
from .runner import iter_units, not_run_records, run_unit
from .session import RunOptions, Session, build_document, write_reports
from .time_budget import Budget


@dataclass
class Selection:
    """The cases of a run and how they were chosen."""

    cases: list
    dtypes: Optional[list] = None  # None: each case's own dtypes
    checks: Optional[list] = None  # None: every check
    filtered: bool = False  # -k, --dtype or --check narrowed the selection
    library: bool = True  # the built-in case library (not --cases files)
    shard: Optional[str] = None  # "K/N" when only shard K of N runs (shards.py)
    profile: Optional[str] = None  # profiles.PROFILES; None: full


@dataclass
class Timing:
    """What a report times, besides the correctness run."""

    shapes: list
    dtype: str
    quick: bool = False
    batch_sizes: tuple = (1, 4, 16)  # the extra shapes for the time-against-batch plot
    json_path: Optional[Path] = None  # pytest-benchmark's JSON (default OUT/benchmark.json)
    threads: int = bench.DEFAULT_THREADS  # per library (torch, OpenBLAS, MKL, OpenMP) while timing


@dataclass
class Outcome:
    records: list = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C / SIGTERM
    stopped: str = ""  # why the run stopped early ("--maxfail 1"); "" when it ran to the end
    speed: list = field(default_factory=list)
    benchmark_error: Optional[str] = None
    written: list = field(default_factory=list)  # the files written, results.json first
    incomplete: str = ""  # why selected units did not run (--budget spent); "" when none was left out
    profile: str = "full"
    budget: Optional[Budget] = None

    @property
    def nothing_ran(self) -> bool:
        return not summary.something_ran(self.records)

    def exit_status(self, strict: bool, allow_empty: bool, allow_incomplete: bool = False) -> int:
        """0, or 1 when a case failed (the expectations judge it; with `strict` an unexpected pass
        too), the benchmarks failed, nothing ran (unless allow_empty), or the budget left units
        out (unless allow_incomplete). Interrupts are the caller's: they have their own status."""
        empty = 0 if allow_empty or not self.nothing_ran else 1
        incomplete = 1 if self.incomplete and not allow_incomplete else 0
        return max(gate_status(self.records, strict), 1 if self.benchmark_error else 0, empty, incomplete)

    def settings(self) -> dict:
        """What results.json's settings say about how much of the selection ran."""
        out = {"profile": self.profile}
        if self.budget is not None:
            out["budget"] = {"seconds": self.budget.seconds, "units_not_run": self.budget.left_out}
        return out


class _MaxFailReached(Exception):
    """--maxfail N failed or erroring results were seen: stop, keep what was computed."""


class _BudgetSpent(Exception):
    """--budget SECONDS have passed: start no new unit."""


@contextlib.contextmanager
def journal(out: Optional[Path], watch_crashes: bool, on_open: Optional[Callable[[Path], None]] = None):
    """results.jsonl, appended to as records complete (OUT/results.jsonl; without an output
    folder a temporary file, removed when the run ends), and, when the adapters run in this
    process, a watcher that names the case after a crash."""
    if out is not None:
        path = out / "results.jsonl"
    else:
        handle, name = tempfile.mkstemp(prefix="lstm-conformance-", suffix=".jsonl")
        os.close(handle)
        path = Path(name)
    writer = results.Journal(path)
    if on_open:
        on_open(path)
    try:
        with CrashWatch(path) if watch_crashes else contextlib.nullcontext():
            yield writer
            writer.finish()
    finally:
        writer.close()
        if out is None:
            path.unlink(missing_ok=True)


class _NoJournal:
    """The journal's interface, writing nothing (the Python API keeps its records in memory)."""

    def running(self, *unit) -> None:
        pass

    def record(self, record: dict) -> None:
        pass


def _unit_key(unit) -> tuple:
    return unit.case.id, unit.dtype, unit.adapter.name


def _listed_units(session: Session, selection: Selection, plan, budget) -> tuple:
    """(every unit of the selection, the units to run in their order) when a profile or a budget
    needs them listed before the run; (None, None) otherwise (the runner's lazy order)."""
    if plan is None and budget is None:
        return None, None
    everything = list(iter_units(selection.cases, session.adapters, selection.dtypes, selection.checks))
    units = [u for u in map(plan.keep, everything) if u] if plan is not None else everything
    return everything, coverage_first(units) if budget is not None else units


def run_correctness(session: Session, selection: Selection, out: Optional[Path] = None, maxfail: Optional[int] = None,
                    on_record: Optional[Callable[[dict], None]] = None,
                    on_journal: Optional[Callable[[Path], None]] = None, jobs: int = 1, *,
                    budget: Optional[Budget] = None, diagnose: bool = True, keep_journal: bool = True) -> Outcome:
    """Every unit of the selection, its records judged by the session's expectations and
    appended to the journal as they come; on Ctrl-C, SIGTERM or --maxfail, those so far.
    `jobs` > 1: the cases run in that many worker processes (parallel.py), same records.
    `selection.profile` "quick": what profiles.py leaves out is recorded as skipped, with why.
    `budget`: coverage-first order, and no unit starts once it is spent (time_budget.py); the
    units left are recorded as skipped, with why, and the outcome is `incomplete`.
    `diagnose=False`: no diagnosis of failures (faster); `keep_journal=False`: no journal file."""
    outcome, failed = Outcome(), 0
    by_case: dict = {}  # case index -> its records (kept in the selection's case order)
    done: set = set()  # (case, dtype, impl) of the units whose records came
    index_of = {case.id: index for index, case in enumerate(selection.cases)}

    def judged(records, case_index=None, counted=True):
        nonlocal failed
        for record in records:
            record = session.judge(record)
            if counted:  # a unit that ran (a profile's left-out records are not counted as one)
                done.add((record["case"], record["dtype"], record["impl"]))
            by_case.setdefault(index_of.get(record["case"], 0) if case_index is None else case_index,
                               []).append(record)
            writer.record(record)
            if on_record:
                on_record(record)
            failed += counted and record["status"] in FAILED
            if counted and maxfail and failed >= maxfail:
                raise _MaxFailReached

    plan = profiles.plan_for(selection.profile, selection.cases, selection.checks, session.adapters)
    parallel = jobs > 1 and len(selection.cases) > 1
    everything, units = _listed_units(session, selection, plan, budget)
    watch = keep_journal and not (session.isolated or parallel)
    with journal(out, watch, on_journal) if keep_journal else contextlib.nullcontext(_NoJournal()) as writer:
        try:
            if plan is not None:  # recorded first: the left-out checks are known before anything runs
                judged([r for u in everything for r in not_run_records(u, plan.left_out(u))], counted=False)
            if budget is not None:
                budget.start()
            if parallel:
                cases = selection.cases
                if units is not None:  # the cases in the order of their first unit
                    order = list(dict.fromkeys(u.case.id for u in units))
                    cases = [selection.cases[index_of[case_id]] for case_id in order]
                setup = WorkerSetup(specs=list(session.names), dtypes=selection.dtypes, checks=selection.checks,
                                    isolate=session.isolated, timeout=session.timeout, plan=plan, diagnose=diagnose)

                def on_unit(index, records):
                    judged(records, index_of[cases[index].id])
                    if budget is not None and budget.spent:
                        raise _BudgetSpent
                run_cases(cases, setup, session.adapters, jobs, on_unit)
            else:
                cache = ReferenceCache()
                for unit in units if units is not None else iter_units(selection.cases, session.adapters,
                                                                        selection.dtypes, selection.checks):
                    if budget is not None and budget.spent:
                        raise _BudgetSpent
                    writer.running(unit.case.id, unit.dtype, unit.adapter.name)  # named after a crash
                    judged(run_unit(unit, cache, diagnose))
        except KeyboardInterrupt:  # keep what was computed; it is written by the caller
            outcome.interrupted = True
        except _MaxFailReached:
            outcome.stopped = f"--maxfail {maxfail}"
        except _BudgetSpent:
            left = [u for u in units if _unit_key(u) not in done]
            budget.left_out = len(left)
            judged([r for u in left for r in not_run_records(u, {c.name: budget.reason for c in u.checks})],
                   counted=False)
            outcome.incomplete = budget.note(len(units)) if left else ""
    outcome.records = [record for index in sorted(by_case) for record in by_case[index]]
    outcome.profile = selection.profile or "full"
    outcome.budget = budget
    return outcome


def _deferred(interrupts):
    """A block in which Ctrl-C / SIGTERM wait until the results are written."""
    return interrupts.deferred() if interrupts is not None else contextlib.nullcontext()


def _signalled(interrupts) -> bool:
    return bool(interrupts is not None and interrupts.interrupted)


def _write(session: Session, selection: Selection, options: RunOptions, outcome: Outcome, settings: dict,
           html: Optional[Path], interrupts) -> None:
    complete = not (selection.filtered or outcome.interrupted or outcome.stopped or outcome.incomplete
                    or outcome.profile != "full" or _signalled(interrupts))
    session.report_unused_expectations(outcome.records, complete, library=selection.library)
    settings = {"interrupted": outcome.interrupted, "stopped_early": outcome.stopped or None, **settings,
                **outcome.settings(), **session.settings()}
    if outcome.benchmark_error:
        settings["benchmark_error"] = outcome.benchmark_error
    with _deferred(interrupts):
        document = build_document(outcome.records, outcome.speed, settings, session.coverage)
        outcome.written = write_reports(document, options.out, options.junit, html, session.strict,
                                        allow_empty=options.allow_empty)


def _budget(options: RunOptions) -> Optional[Budget]:
    return Budget(options.budget) if options.budget else None


def run(options: RunOptions, selection: Selection, session: Session, maxfail: Optional[int] = None,
        on_record=None, on_journal=None, interrupts=None) -> Outcome:
    """`lstm-conformance run`: the correctness units, then results.json and the tables."""
    outcome = run_correctness(session, selection, options.out, maxfail, on_record, on_journal, options.jobs,
                              budget=_budget(options))
    settings = {"command": "run", **({"shard": selection.shard} if selection.shard else {})}
    _write(session, selection, options, outcome, settings, options.html, interrupts)
    return outcome


def report(options: RunOptions, selection: Selection, session: Session, timing: Timing, maxfail: Optional[int] = None,
           on_record=None, on_journal=None, interrupts=None) -> Outcome:
    """`lstm-conformance report`: the correctness run, then (unless it stopped) the benchmarks,
    then every report file (the plots are drawn from the records)."""
    from ..bench.timing import run_benchmarks  # here: only the timing commands load pytest

    outcome = run_correctness(session, selection, options.out, maxfail, on_record, on_journal, options.jobs,
                              budget=_budget(options))
    if not outcome.interrupted and not outcome.stopped:  # stopped early (--maxfail): no timing either
        try:
            shapes = list(timing.shapes) + bench.batch_sweep(list(timing.shapes), timing.batch_sizes)
            json_path = timing.json_path or options.out / "benchmark.json"
            outcome.speed = run_benchmarks(session.benchmark_adapters(), shapes, timing.dtype, json_path,
                                           quick=timing.quick, threads=timing.threads)
        except KeyboardInterrupt:
            outcome.interrupted = True
        except RuntimeError as err:  # the benchmark session failed
            outcome.benchmark_error = str(err)
    html = options.html or (options.out / "report.html" if options.out else None)
    _write(session, selection, options, outcome, {"command": "report", "shapes": list(timing.shapes)}, html,
           interrupts)
    if outcome.speed:
        outcome.written.append(json_path)
    return outcome
