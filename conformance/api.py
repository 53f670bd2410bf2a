"""The Python API: run the spec cases from Python through the same engine as
`lstm-conformance run` (usecases.run_correctness: the runner's units, judged by a session's
expectations), keeping the records in memory.

    from lstm_conformance import Adapter, Capabilities, load_cases, run

    records = run(["numpy", MyLSTM()], filters=["toy"])
    failed = [r for r in records if r["status"] in ("fail", "error")]
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Optional

from .adapter import with_defaults
from .checks import select_checks
from .harness import profiles, usecases
from .harness.registry import load_adapter
from .harness.session import RunOptions, Session
from .harness.time_budget import Budget
from .spec.loader import CaseSpec, load_cases, select

__all__ = ["run"]


def run(impls, cases=None, filters: Optional[list[str]] = None, dtypes: Optional[list[str]] = None,
        checks: Optional[list[str]] = None, expectations: Iterable = (), *, builtin_expectations: bool = True,
        isolate: bool = False, timeout: Optional[float] = None, diagnose: bool = True,
        on_record: Optional[Callable[[dict], None]] = None, profile: Optional[str] = None,
        budget: Optional[float] = None) -> list[dict]:
    """Run spec cases through implementations; return their records, as `lstm-conformance run`
    makes them (same units, same order, same expectations).

    impls         the implementations under test: one or a list, each an Adapter instance or a
                  spec as for --impl (a built-in name such as "numpy", "path/to/file.py:Class",
                  "module:Class", or an entry-point name)
    cases         CaseSpec objects (see load_cases) or spec case file paths; default: the
                  built-in library
    filters       as -k: cases whose id contains a pattern or matches it as a glob, or whose
                  group is the pattern (default: all)
    dtypes        only these dtypes (default: each case's own, plus the half-precision runs of
                  the dtypes check for adapters that declare them)
    checks        only these checks, by name (default: all; see `lstm-conformance list checks`)
    expectations  expectations files (paths): matching failures become xfail, passes xpass
    builtin_expectations  also apply the shipped expectations of built-in adapters (default)
    isolate       run each implementation in a process of its own (specs only, not instances);
                  `timeout` (seconds per case) implies it
    diagnose      name the known defect a failure matches (slower; default on)
    on_record     called with each record as soon as it is judged
    profile       "full" (default) or "quick", as --profile (harness/profiles.py): what it
                  leaves out is returned as skipped records saying so
    budget        seconds, as --budget (harness/time_budget.py): coverage-first order, no unit
                  starts once they have passed; the units left are skipped records saying so

    Each record is a dict (typed as `lstm_conformance.report.results.Record`; how each field is
    computed: the `lstm_conformance.harness.runner` docstring): case, dtype, impl, check,
    status (pass, fail, error, unsupported, skipped, xfail, xpass), message, and the metrics.
    `lstm_conformance.harness.expectations.gate_status(records, strict)` gives the CLI's
    exit status. Raises ValueError (a SpecError, AdapterLoadError or SessionError) for a bad
    case file, implementation, expectations file, check name, profile or budget, before running
    anything; Ctrl-C (KeyboardInterrupt) passes through.
    """
    given = list(impls) if isinstance(impls, (list, tuple)) else [impls]
    instances = {a.name: with_defaults(a) for a in given if not isinstance(a, str)}
    if (isolate or timeout) and instances:
        raise ValueError("isolate and timeout need implementations given as specs (names, file.py:Class, "
                         f"module:Class), not instances: {', '.join(instances)}")
    if profile not in (None, *profiles.PROFILES):
        raise ValueError(f"profile {profile!r}: unknown; known: {', '.join(profiles.PROFILES)}")
    timer = Budget(budget) if budget is not None else None  # ValueError for a bad number
    if checks:
        select_checks(checks)  # ValueError naming an unknown check
    names = [a if isinstance(a, str) else a.name for a in given]
    selection = usecases.Selection(cases=select(_cases(cases), filters), dtypes=dtypes, checks=checks or None,
                                   profile=profile)
    options = RunOptions(expectations=[Path(p) for p in expectations],
                         no_builtin_expectations=not builtin_expectations, isolate=isolate, timeout=timeout)
    with Session(options, names, lambda name: instances.get(name) or load_adapter(name)) as session:
        outcome = usecases.run_correctness(session, selection, on_record=on_record, budget=timer,
                                           diagnose=diagnose, keep_journal=False)
    if outcome.interrupted:
        raise KeyboardInterrupt
    return outcome.records


def _cases(cases) -> list[CaseSpec]:
    if cases is None:
        return load_cases()
    cases = list(cases)
    if cases and all(isinstance(c, (str, Path)) for c in cases):
        return load_cases(cases)
    return cases
