"""Run spec cases through adapters and produce one result record per case × dtype × adapter.

Statuses: pass, fail, error (the adapter raised; the run goes on), unsupported (outside the
adapter's capabilities, with the reason), skipped (environment, e.g. no GPU).
"""
from __future__ import annotations

import time
import traceback
from typing import Callable, Iterable, Optional

import numpy as np

from .adapter import result_dtypes, unsupported_by
from .literals import check_literals
from .metrics import compare_output
from .reference import lstm_forward
from .spec.loader import CaseSpec
from .spec.materialize import materialize
from .spec.model import Problem
from .tolerances import tolerance_for

STATUSES = ("pass", "fail", "error", "unsupported", "skipped")


class ReferenceCache:
    """Reference outputs per (case id, dtype): computed once, shared by all adapters."""

    def __init__(self):
        self._store: dict = {}

    def get(self, problem: Problem) -> dict:
        key = (problem.case_id, problem.dtype)
        if key not in self._store:
            self._store[key] = lstm_forward(problem.config, problem.x, problem.params, problem.h0, problem.c0,
                                            problem.lengths).as_dict()
        return self._store[key]


def _short_error(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip()
    return text if len(text) < 2000 else text[:2000] + " ..."


def run_case(case: CaseSpec, dtype: str, adapter, cache: Optional[ReferenceCache] = None) -> dict:
    """The result record of one case in one dtype on one adapter. Never raises for adapter faults."""
    cache = cache or ReferenceCache()
    record = {"case": case.id, "group": case.group, "dtype": dtype, "impl": adapter.name, "check": "forward",
              "about": case.about, "status": None, "message": ""}
    started = time.perf_counter()
    try:
        _fill(record, case, dtype, adapter, cache)
    except Exception as err:  # the adapter (or its conversion of outputs) raised
        record.update(status="error", message=_short_error(err), traceback=traceback.format_exc(limit=6))
    record["seconds"] = round(time.perf_counter() - started, 6)
    return record


def _fill(record: dict, case: CaseSpec, dtype: str, adapter, cache: ReferenceCache) -> None:
    skip = adapter.skip_reason()
    if skip:
        record.update(status="skipped", message=skip)
        return
    problem = materialize(case, dtype)
    reason = adapter.unsupported_reason(problem) if hasattr(adapter, "unsupported_reason") \
        else unsupported_by(adapter.capabilities(), problem)
    if reason:
        record.update(status="unsupported", message=reason)
        return
    if case.expect_error is not None:
        _expect_rejection(record, case, problem, adapter)
        return

    expected = cache.get(problem)
    result = adapter.prepare(problem)()
    record["output_dtypes"] = result_dtypes(result)
    got = adapter.to_numpy(result)
    tol = tolerance_for(dtype)
    exposed = adapter.capabilities().outputs
    compared = []
    for name in ("y", "h_n", "c_n", "c"):
        if name not in got:
            if name in exposed:
                compared.append({"output": name, "passed": False, "message": f"adapter returned no {name}"})
            continue
        compared.append(compare_output(name, expected[name], got[name], tol, dtype, problem.config))
    record["tolerance"] = tol.as_dict()
    record["outputs"] = compared
    record["literals"] = check_literals(case.expect, got, problem)
    failures = [o["message"] for o in compared if not o["passed"]]
    failures += [lit["message"] for lit in record["literals"] if lit["passed"] is False]
    record["status"] = "fail" if failures else "pass"
    record["message"] = "; ".join(failures)
    finite = [o["max_abs"] for o in compared if "max_abs" in o]
    record["max_abs"] = max(finite) if finite else None
    record["max_rel"] = max((o["max_rel"] for o in compared if "max_rel" in o), default=None)


def _expect_rejection(record: dict, case: CaseSpec, problem: Problem, adapter) -> None:
    try:
        result = adapter.prepare(problem)()
        adapter.to_numpy(result)
    except Exception as err:  # raising is the expected behaviour here
        record.update(status="pass", message=f"rejected as required ({case.expect_error}): {_short_error(err)}")
        return
    record.update(status="fail", message=f"returned outputs for invalid input; it must raise ({case.expect_error})")


def run_suite(cases: Iterable[CaseSpec], adapters: list, dtypes: Optional[list[str]] = None,
              on_record: Optional[Callable[[dict], None]] = None) -> list[dict]:
    """Every case × dtype × adapter, in a deterministic order. `on_record` sees each record
    as soon as it exists, so callers can keep partial results."""
    cache = ReferenceCache()
    records = []
    for case in cases:
        for dtype in case.dtypes:
            if dtypes and dtype not in dtypes:
                continue
            for adapter in adapters:
                record = run_case(case, dtype, adapter, cache)
                records.append(record)
                if on_record:
                    on_record(record)
    return records


def exit_status(records: list[dict]) -> int:
    """0 when no applicable case failed or errored, else 1."""
    return 1 if any(r["status"] in ("fail", "error") for r in records) else 0


def max_finite(values) -> Optional[float]:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return max(values) if values else None
