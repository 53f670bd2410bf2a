"""`lstm-conformance grade DIR OUTPUTS`: judge outputs written by an implementation outside
Python against golden data written by `export` (docs/ADAPTERS.md, "Implementations outside
Python").

Each exported case × dtype is rebuilt as a case with literal inputs (harness/literal_case.py),
and its outputs are replayed through an adapter that returns the files found in OUTPUTS, so
the forward check runs unchanged: the same comparison with the reference, metrics, literal
expectations, diagnosis and records as `run`. Gradients written for the exported upstream
gradient are compared as the gradients check compares its "all" term.

Status of what cannot be judged here:
- no outputs for a case (nothing written, or OUTPUTS/<key>.unsupported.txt with the reason):
  `unsupported`, with the reason: the implementation does not run that case;
- the checks that call the implementation again (errors, state-chaining, batch-independence,
  padding-invariance, determinism, strided, dtypes) and the gradient comparisons with one
  upstream term alone: `skipped`, with why. Skipped is the status of "this environment cannot
  run it": the implementation may well pass them, but grading files cannot ask it.
"""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..adapter import FEATURES, Adapter, Capabilities
from ..checks import CHECKS, CaseRun, ReferenceCache
from ..checks.base import finish
from ..checks.gradients import compare_gradients, reference_gradients
from ..metrics import worst_of
from ..report.results import Status
from ..spec.loader import build_config, select
from ..spec.model import DTYPES, UPSTREAM_TERMS, Problem
from ..tolerances import tolerance_for
from . import export as exporting
from . import expectations as expecting
from .literal_case import literal_case
from .runner import run_checks
from .session import build_document, write_reports
from .usecases import Outcome

# Why each check that re-runs the implementation is not run by grade.
LIVE_ONLY = {
    "errors": "calls the implementation on invalid inputs, which must raise",
    "state-chaining": "runs the sequence again in two chunks, the second from the first's final state",
    "batch-independence": "runs batch rows again on their own and permuted",
    "padding-invariance": "runs the case again with more padding past the lengths",
    "determinism": "calls the implementation twice on the same inputs",
    "strided": "hands the implementation strided views of the same inputs",
    "dtypes": "runs the case again in other dtypes and inspects the returned dtypes",
    "training-parity": "trains a model for 300 steps, calling the implementation twice per step",
}


class GradeError(ValueError):
    """DIR is not golden data of a known version, or OUTPUTS is not a folder: a usage error."""


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise GradeError(f"{path}: cannot read ({err.strerror or err}); is {folder} a folder written by "
                         "`lstm-conformance export`?") from None
    except ValueError as err:
        raise GradeError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != exporting.FORMAT:
        raise GradeError(f"{path}: not a manifest written by `lstm-conformance export`")
    if manifest.get("version") != exporting.MANIFEST_VERSION:
        raise GradeError(f"{path}: manifest version {manifest.get('version')!r}; this version reads "
                         f"{exporting.MANIFEST_VERSION} (export the golden data again)")
    return manifest


def _load(golden: Path, spec: dict) -> np.ndarray:
    return np.load(golden / spec["file"], allow_pickle=False)


def rebuild_problem(golden: Path, entry: dict) -> Problem:
    """The exported problem, from its .npy files and its options."""
    config = build_config({"input_size": entry["config"]["input_size"],
                           "hidden_size": entry["config"]["hidden_size"]}, entry["options"])
    arrays = {name: _load(golden, spec).astype(np.float64) for name, spec in entry["inputs"].items()}
    lengths = entry["inputs"].get("lengths")
    return Problem(case_id=entry["case"], dtype=entry["dtype"], config=config, x=arrays["x"],
                   params={name: _load(golden, spec).astype(np.float64) for name, spec in entry["parameters"].items()},
                   h0=arrays.get("h0"), c0=arrays.get("c0"),
                   lengths=None if lengths is None else _load(golden, lengths).astype(np.int64),
                   group=entry["group"], tags=tuple(entry["tags"]))


class OutputsAdapter(Adapter):
    """Replays what an implementation outside Python wrote for one exported case × dtype."""

    def __init__(self, name: str, outputs: Path, entry: dict):
        self.name, self.entry = name, entry
        self.description = f"outputs read from {outputs}"
        self.files = {k: outputs / f for k, f in entry["outputs"].items() if (outputs / f).is_file()}
        self.gradient_files = {k: outputs / f for k, f in (entry.get("gradient_outputs") or {}).items()
                               if (outputs / f).is_file()}
        self.reason_file = outputs / f"{entry['key']}.unsupported.txt"

    def capabilities(self) -> Capabilities:
        return Capabilities(dtypes=set(DTYPES), features=set(FEATURES), activations=None,
                            outputs=set(self.files) | {"y", "h_n", "c_n"}, gradients=bool(self.gradient_files))

    def unsupported_reason(self, problem) -> Optional[str]:
        if self.reason_file.is_file():
            reason = self.reason_file.read_text(encoding="utf-8", errors="replace").strip()
            return reason or f"{self.reason_file.name} gives no reason"
        if not self.files:
            return "no outputs written for this case (OUTPUTS/<key>.y.npy missing): the implementation did not run it"
        return None

    def prepare(self, problem):
        outputs = {name: np.load(path, allow_pickle=False) for name, path in self.files.items()}
        return lambda: outputs

    def gradients(self, problem, upstream):
        return {name: np.load(path, allow_pickle=False) for name, path in self.gradient_files.items()}


def _record(case, dtype: str, impl: str, check: str, status=None, message: str = "") -> dict:
    return {"case": case.id, "group": case.group, "dtype": dtype, "impl": impl, "check": check, "about": case.about,
            "status": status, "message": message}


def grade_gradients(case, dtype: str, adapter: OutputsAdapter, cache: ReferenceCache, golden: Path) -> dict:
    """The gradients record: the written gradients for the exported upstream gradient against
    the reference's, compared as the gradients check compares its 'all' term."""
    record, started = _record(case, dtype, adapter.name, "gradients"), time.perf_counter()
    run = CaseRun(case, dtype, adapter, cache)
    reason = adapter.unsupported_reason(run.problem)
    if reason is None and not adapter.gradient_files:
        reason = "no gradients written for this case (OUTPUTS/<key>.grad_x.npy missing)"
    if reason:
        record.update(status=Status.UNSUPPORTED, message=reason)
        return record
    try:
        upstream = {name: _load(golden, spec).astype(np.float64) for name, spec in adapter.entry["upstream"].items()}
        expected = reference_gradients(run, upstream, UPSTREAM_TERMS["all"])
        got = run.gradients(run.problem, upstream)
        states = run.problem.h0 is not None or run.problem.c0 is not None
        comparisons, missing = compare_gradients(run, expected, got, "all", states)
        record["tolerance"] = tolerance_for(dtype, "gradients").as_dict()
        record["tolerance_note"] = exporting.GRADIENT_TOLERANCE_NOTE
        record["gradients"] = comparisons
        failing = [c for c in comparisons if not c["passed"]]
        finish(record, [], missing + [f"upstream all: {c['message']}" for c in failing[:6]])
        if len(failing) > 6:
            record["message"] += f"; and {len(failing) - 6} more failing gradient arrays"
        record.update(worst_of(comparisons))
    except Exception as err:  # an unreadable or malformed file
        record.update(status=Status.ERROR, message=f"{type(err).__name__}: {err}",
                      traceback=traceback.format_exc(limit=6))
    record["seconds"] = round(time.perf_counter() - started, 6)
    return record


def not_run(case, dtype: str, impl: str) -> list[dict]:
    """A skipped record for each check that applies to the case but needs a live implementation."""
    records = []
    for name, why in LIVE_ONLY.items():
        if name in CHECKS and CHECKS[name].applies(case):
            records.append(_record(case, dtype, impl, name, Status.SKIPPED,
                                   f"not run by grade: the {name} check {why}; only a live implementation (an "
                                   "adapter) can take it"))
    return records


def grade_entry(entry: dict, golden: Path, outputs: Path, impl: str, cache: ReferenceCache) -> list[dict]:
    problem = rebuild_problem(golden, entry)
    case = literal_case(problem, entry["case"], entry["about"], entry["group"], entry.get("expect") or (),
                        entry["tags"], file=golden / "manifest.json")
    adapter = OutputsAdapter(impl, outputs, entry)
    records = run_checks(case, entry["dtype"], adapter, cache, ["forward"])
    if CHECKS["gradients"].applies(case) and entry.get("expected_gradients") is not None:
        records.append(grade_gradients(case, entry["dtype"], adapter, cache, golden))
    return records + not_run(case, entry["dtype"], impl)


def _not_exported(item: dict, impl: str) -> dict:
    return {"case": item["case"], "group": item["group"], "dtype": "-", "impl": impl, "check": "errors",
            "about": item["about"], "status": Status.SKIPPED, "message": f"not exported: {item['reason']}"}


def implementation_name(outputs: Path, name: Optional[str]) -> str:
    """--name, else the first line of OUTPUTS/implementation.txt, else 'external'."""
    if name:
        return name
    path = outputs / "implementation.txt"
    if path.is_file():
        first = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        if first and first[0].strip():
            return first[0].strip()
    return "external"


def grade(golden: Path, outputs: Path, name: Optional[str] = None, patterns=None, dtypes=None,
          expectation_files=(), out: Optional[Path] = None, junit: Optional[Path] = None, on_record=None) -> Outcome:
    """Grade OUTPUTS against the golden data in `golden`; write results.json and correctness.md
    into `out` (and JUnit XML to `junit`) when given."""
    golden, outputs = Path(golden), Path(outputs)
    manifest = read_manifest(golden)
    if not outputs.is_dir():
        raise GradeError(f"OUTPUTS {outputs}: no such folder")
    impl = implementation_name(outputs, name)
    try:
        sets = [expecting.load(p) for p in expectation_files]
    except expecting.ExpectationsError as err:
        raise GradeError(f"--expectations {err}") from None
    sets = [expecting.for_adapter(s, impl) for s in sets]  # the files describe the graded implementation
    chosen = {c.id for c in select([_Named(e) for e in manifest["cases"]], patterns)}
    cache, outcome = ReferenceCache(), Outcome()
    for entry in manifest["cases"]:
        if entry["case"] not in chosen or (dtypes and entry["dtype"] not in dtypes):
            continue
        for record in expecting.apply(grade_entry(entry, golden, outputs, impl, cache), sets):
            outcome.records.append(record)
            if on_record:
                on_record(record)
    if not dtypes:
        chosen_errors = {c.id for c in select([_Named(e) for e in manifest["not_exported"]], patterns)}
        outcome.records += [_not_exported(item, impl) for item in manifest["not_exported"]
                            if item["case"] in chosen_errors]
    settings = {"command": "grade", "golden": str(golden), "outputs": str(outputs),
                "expectations": [s.file for s in sets]}
    if out is not None or junit is not None:
        document = build_document(outcome.records, [], settings)
        outcome.written = write_reports(document, out, junit)
    return outcome


@dataclass
class _Named:
    """What loader.select needs of a case (id and group), for a manifest entry."""

    entry: dict

    @property
    def id(self) -> str:
        return self.entry["case"]

    @property
    def group(self) -> str:
        return self.entry["group"]
