"""Run spec cases through adapters: one result record per case × dtype × adapter × check.

Checks (conformance/checks/, in this order): forward, errors, gradients, state-chaining,
batch-independence, padding-invariance, determinism, strided, dtypes. A check that means
nothing for a case (padding invariance without lengths, chaining of a bidirectional case,
...) produces no record for it; what each check runs on is in its module's docstring.
float16/bfloat16 runs of the dtypes check are added for adapters declaring those dtypes.

Record format (a dict, typed as report.results.Record; results.json stores a list of them):
  case, group, about   the spec case
  dtype                the tested dtype (float64 / float32 / bfloat16 / float16)
  impl                 the adapter's name
  check                the check's name
  status               pass | fail | error | unsupported | skipped
                       (error: the adapter raised where it must not; unsupported: outside the
                       adapter's capabilities, message says why; skipped: environment)
  message              why it failed / errored / is unsupported ("" on a plain pass);
                       a failure ends with " — diagnosis: ..." when a diagnosis was made
  seconds              wall time of this record (kept in results.jsonl, not in results.json)
  max_abs, max_rel, max_ulp, tolerance_used
                       worst errors over the compared arrays (None when nothing was compared);
                       tolerance_used = max |error| / (atol + rtol·|expected|), 1.0 = the edge
  tolerance            {"atol", "rtol"} used (gradients: atol × max(1, max |expected|) per array)
  outputs              forward and consistency checks: one comparison per output (metrics.compare_output:
                       output, shape, max_abs, max_rel, max_ulp, tolerance_used, passed, worst
                       {index, expected, got, abs_error}, failing_elements, message); batch-
                       independence adds "variant" (which row / permutation)
  gradients            gradients check: the same per gradient array, "output" = "grad <name>",
                       plus "upstream" (all, y, h_n or c_n) and worst["gate"] for 4H-row parameters
  literals             forward: the case's literal expectations (literals.check_literals)
  output_dtypes        forward and dtypes: the native dtype of each returned output
  invalid_inputs       errors (derived): [{input, raised, message[, accepted]}] (accepted: the
                       empty answer SPEC §9 allows for T = 0 and length 0)
  valid_twin           errors: the valid problem an exception is confirmed against (checks/errors.py)
  spread               determinism: {max_abs, max_ulp} between runs
  split                state-chaining: the step where the second chunk starts
  diagnosis            on a failed forward or gradients check (diagnosis/): {"where": ...,
                       "patterns": [names of known defects that reproduce the outputs],
                       "summary": one line}
  traceback            error: the last frames
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional

from ..checks import CHECKS, CaseRun, ReferenceCache, select_checks
from ..report.results import Status
from ..spec.loader import CaseSpec

__all__ = ["ReferenceCache", "Unit", "iter_units", "not_run_records", "run_case", "run_checks", "run_suite",
           "run_unit"]


MAX_MESSAGE = 20_000  # characters of an error kept in the record (a native trace can run to megabytes)


def _short_error(err: BaseException) -> str:
    """The error's text for the record: whole, or, past MAX_MESSAGE, its head and its tail
    (a native error's meaningful line is usually the last); reports show report.summary.condensed."""
    text = f"{type(err).__name__}: {err}".strip()
    if len(text) <= MAX_MESSAGE:
        return text
    half = MAX_MESSAGE // 2
    return f"{text[:half]}\n... [{len(text) - MAX_MESSAGE} characters cut] ...\n{text[-half:]}"


def _checks(checks) -> list:
    """Check objects from names or check objects (None: all checks)."""
    if checks is None:
        return select_checks()
    select_checks([c for c in checks if isinstance(c, str)])  # ValueError naming an unknown check
    return [CHECKS[c] if isinstance(c, str) else c for c in checks]


def run_checks(case: CaseSpec, dtype: str, adapter, cache: Optional[ReferenceCache] = None, checks=None,
               diagnose: bool = True) -> list[dict]:
    """The records of every applicable check of one case in one dtype on one adapter.
    Never raises for adapter faults: they become status "error"."""
    cache = cache or ReferenceCache()
    run = CaseRun(case, dtype, adapter, cache, diagnose)
    records = []
    for check in _checks(checks):
        if not check.applies(case):
            continue
        record = {"case": case.id, "group": case.group, "dtype": dtype, "impl": adapter.name, "check": check.name,
                  "about": case.about, "status": None, "message": ""}
        started = time.perf_counter()
        try:
            _run_one(run, check, record)
        except Exception as err:  # the adapter (or its conversion of outputs) raised
            record.update(status=Status.ERROR, message=_short_error(err), traceback=traceback.format_exc(limit=6))
        record["seconds"] = round(time.perf_counter() - started, 6)
        records.append(record)
    return records


def _run_one(run: CaseRun, check, record: dict) -> None:
    skip = run.adapter.skip_reason()
    if skip:
        record.update(status=Status.SKIPPED, message=skip)
        return
    reason = run.unsupported_reason() or check.unsupported(run)
    if reason:
        record.update(status=Status.UNSUPPORTED, message=reason)
        return
    check.judge(run, record)


def run_case(case: CaseSpec, dtype: str, adapter, cache: Optional[ReferenceCache] = None, check: Optional[str] = None,
             diagnose: bool = True) -> dict:
    """The record of one check (default: forward; errors for an expect_error case)."""
    name = check or ("errors" if case.expect_error is not None else "forward")
    records = run_checks(case, dtype, adapter, cache, [name], diagnose)
    if not records:
        raise ValueError(f"case {case.id!r}: check {name!r} does not apply to it")
    return records[0]


@dataclass(frozen=True, eq=False)
class Unit:
    """One unit of work: a case in one dtype on one adapter, with the checks that apply to it.
    Its records come from one `run_unit` call; the CLI (through `run_suite`), the pytest
    plugin (one test per unit) and the Python API all run these units."""
    case: CaseSpec
    dtype: str
    adapter: Any
    checks: tuple

    @property
    def id(self) -> str:
        """Stable and unique within a run: `case-id[impl-dtype]` (the pytest test name)."""
        return f"{self.case.id}[{self.adapter.name}-{self.dtype}]"


def iter_units(cases: Iterable[CaseSpec], adapters: list, dtypes: Optional[list[str]] = None,
               checks=None, plan=None) -> Iterator[Unit]:
    """Every case × dtype × adapter with at least one applicable check, in a deterministic
    order: case, then dtype, then adapter; after a case's own dtypes, the extra half-precision
    runs of the dtypes check (adapter, then dtype) when that check is selected. `dtypes`: only
    these; `checks`: names or check objects (default: all); `plan` (profiles.Plan): only the
    checks it runs (a unit left with none is not yielded). The extra dtypes are asked of each
    adapter only when the iteration reaches them."""
    if plan is not None:
        yield from (kept for kept in map(plan.keep, iter_units(cases, adapters, dtypes, checks)) if kept)
        return
    selected = _checks(checks)
    dtypes_check = next((c for c in selected if c.name == "dtypes"), None)
    for case in cases:
        applicable = tuple(c for c in selected if c.applies(case))
        if applicable:
            for dtype in case.dtypes:
                if dtypes and dtype not in dtypes:
                    continue
                for adapter in adapters:
                    yield Unit(case, dtype, adapter, applicable)
        if dtypes_check is not None:
            for adapter in adapters:
                for dtype in dtypes_check.extra_dtypes(case, adapter):
                    if not dtypes or dtype in dtypes:
                        yield Unit(case, dtype, adapter, (dtypes_check,))


def run_unit(unit: Unit, cache: Optional[ReferenceCache] = None, diagnose: bool = True) -> list[dict]:
    """The records of one unit (one per check, in the unit's check order); never raises for
    adapter faults (see run_checks)."""
    return run_checks(unit.case, unit.dtype, unit.adapter, cache, unit.checks, diagnose)


def run_suite(cases: Iterable[CaseSpec], adapters: list, dtypes: Optional[list[str]] = None,
              on_record: Optional[Callable[[dict], None]] = None, checks=None, diagnose: bool = True,
              cache: Optional[ReferenceCache] = None) -> list[dict]:
    """The records of every unit of `iter_units` (case, then dtype, then adapter, then check;
    then the extra half-precision runs of the dtypes check), in that order.
    `checks`: names (default: all). `on_record` sees each record as soon as it exists, so
    callers can keep partial results. `diagnose=False` skips the failure diagnosis (faster).
    `cache`: reference results to share with other runs on the same cases."""
    cache = cache or ReferenceCache()
    records = []
    for unit in iter_units(cases, adapters, dtypes, checks):
        for record in run_unit(unit, cache, diagnose):
            records.append(record)
            if on_record:
                on_record(record)
    return records


def not_run_records(unit: Unit, reasons: dict) -> list[dict]:
    """`skipped` records, with the reason, for the unit's checks named in `reasons` ({check
    name: why it did not run}): what a profile or a time budget left out stays in the results."""
    case = unit.case
    return [{"case": case.id, "group": case.group, "dtype": unit.dtype, "impl": unit.adapter.name, "check": c.name,
             "about": case.about, "status": Status.SKIPPED, "message": reasons[c.name]}
            for c in unit.checks if c.name in reasons]
