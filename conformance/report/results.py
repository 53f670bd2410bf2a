"""results.json: the source of every table. Schema-versioned, deterministic order, atomic writes.

This module owns the vocabulary of the results: the statuses (`Status`, with what counts as
ran, passed, failing and how serious each is), the fields of a correctness record (`Record`)
and of a speed record (`SpeedRecord`), and the document built from them. The runner writes
records; every renderer and the gate read them through these names.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from enum import Enum
from pathlib import Path
from typing import Any, Optional, TypedDict

SCHEMA_VERSION = 2
# What each version changed, for the message that refuses an older file.
SCHEMA_HISTORY = {
    1: "every record with its time and every per-array comparison in full",
    2: "per-record times only in results.jsonl; passing records stored in brief (3 significant digits, "
       "per-array details for the forward check only); case groups and descriptions once, in 'cases', not-run "
       "reasons once, in 'reasons'; one record per line",
}


class Status(str, Enum):
    """The status of one record. A str, so records stay plain JSON and compare with strings."""

    PASS = "pass"
    FAIL = "fail"  # the implementation ran and deviated from the spec
    ERROR = "error"  # the adapter raised where it must not (the message says what)
    XFAIL = "xfail"  # a failure an expectations entry anticipates, with its evidence
    XPASS = "xpass"  # an expected failure that passed: the entry may be stale
    UNSUPPORTED = "unsupported"  # outside the implementation's declared capabilities
    SKIPPED = "skipped"  # the environment cannot run it (e.g. no GPU)

    def __str__(self) -> str:
        return self.value


STATUS_ORDER = tuple(Status)  # the order of columns and counts in every table
RAN = frozenset({Status.PASS, Status.FAIL, Status.ERROR, Status.XFAIL, Status.XPASS})  # a result was judged
NOT_RUN = frozenset({Status.UNSUPPORTED, Status.SKIPPED})
PASSED = frozenset({Status.PASS, Status.XPASS})
FAILED = frozenset({Status.FAIL, Status.ERROR})  # what fails the gate (and XPASS under --strict)
# The most serious first: a case whose checks disagree shows the first of these it has.
SEVERITY = (Status.ERROR, Status.FAIL, Status.XPASS, Status.XFAIL, Status.PASS, Status.UNSUPPORTED, Status.SKIPPED)


def gate_failing(strict: bool = False) -> frozenset:
    """The statuses that make a run fail the gate."""
    return FAILED | ({Status.XPASS} if strict else frozenset())


def worst(statuses) -> Optional[Status]:
    """The most serious of `statuses` (None for none)."""
    present = set(statuses)
    return next((s for s in SEVERITY if s in present), None)


class Record(TypedDict, total=False):
    """One check of one case in one dtype on one implementation (the runner's docstring says
    how each field is computed)."""

    case: str
    group: str
    about: str
    dtype: str
    impl: str
    check: str
    status: str  # a Status value
    message: str  # why it failed, errored or is unsupported ("" on a plain pass)
    seconds: float
    max_abs: Optional[float]
    max_rel: Optional[float]
    max_ulp: Optional[float]
    tolerance_used: Optional[float]  # max |error| / (atol + rtol·|expected|); 1.0 is the edge
    tolerance: dict
    outputs: list  # one comparison per output
    gradients: list  # one comparison per gradient array
    literals: list
    output_dtypes: dict
    invalid_inputs: list
    spread: dict
    split: int
    diagnosis: dict  # {"where", "patterns", "summary"}
    expected_failure: dict  # the expectations entry that matched: {"pattern", "reason", "file"}
    traceback: str


class SpeedRecord(TypedDict, total=False):
    """One benchmark: shape × mode × dtype × implementation."""

    shape: str
    mode: str  # forward | training
    impl: str
    dtype: str
    device: str
    flops: float
    status: str  # "ok" or "not measured"
    message: str
    median: float  # seconds
    iqr: float
    rounds: int
    min: float
    mean: float
    gflops: float
    ratio: Optional[float]  # median / the timing baseline's median, same run
    ratio_ci: list  # [low, high]: the ratio's bootstrap 95% interval (paired over interleaved rounds)
    q1: float
    q3: float
    reliable: bool  # False: the noise guard's verdict (shown, never gated by compare)
    noise: dict  # {"reasons", "attempts", "load_average_1min", "cores", "spread": {impl: IQR/median}, "limit"}
    baseline: str  # the timing baseline's name (torch-lstm unless the set says otherwise)
    gemm: dict  # the machine's GEMM rate for this dtype and device: best of before and after the timings
    gemm_share: float
    conditions: dict  # threads and load when the run started


# Fields that are measurements (they differ between any two runs of the same code).
RECORD_MEASURED = frozenset({"seconds"})
SPEED_MEASURED = frozenset({"median", "iqr", "q1", "q3", "rounds", "min", "mean", "gflops", "ratio", "ratio_ci",
                            "reliable", "noise", "gemm", "gemm_share", "conditions"})


def check_of(record: Any) -> str:
    """The record's check; documents written before checks existed hold forward records only."""
    return record.get("check", "forward")


def atomic_write_text(path, text: str) -> None:
    """Write via a temporary file in the same folder and rename it, so that a reader never
    sees a half-written file and an interrupted run leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; reports are for others to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    """The mode the file would have if opened normally: its current one, else 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _clean(value):
    """JSON has no Inf/NaN: write them as strings so the file stays standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def sort_key(record: dict):
    return (record.get("group", ""), record.get("case", ""), record.get("dtype", ""), record.get("impl", ""),
            record.get("check", ""))


def build(records: list[dict], environment: dict, speed: list[dict] | None = None, settings: dict | None = None) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "settings": settings or {},
        "environment": environment,
        "records": sorted(records, key=sort_key),
        "speed": sorted(speed or [], key=lambda s: (s.get("shape", ""), s.get("mode", ""), s.get("impl", ""))),
    }


# ---------------------------------------------------------------- the stored form (results.json)
#
# results.json is a CI baseline: it must stay small and change only where results change. So the
# stored document differs from the one in memory (which the run's own reports and JUnit use):
# - no per-record time ("seconds"): it differs on every run; results.jsonl keeps it;
# - a record that passed is stored in brief: floats to 3 significant digits; per-array
#   comparisons only for the forward check (output and its max errors, not the worst element);
#   no tolerance or output dtypes; an invalid input's rejection without the adapter's message.
#   A record that did not pass keeps everything (the reports show where it deviates);
# - a case's group and description once, in "cases"; the reason of an unsupported or skipped
#   record once, in "reasons", the record holding its index ("reason": 3);
# - one record per line, so that a changed result is a changed line.
# read() (and compare's reader) put the group, description and message back.
BRIEF_COMPARISON = ("output", "max_abs", "max_rel", "max_ulp", "tolerance_used", "passed")
BRIEF_DROPS = ("tolerance", "tolerance_note", "output_dtypes")
STORED_ONLY_IN_JOURNAL = RECORD_MEASURED


def _three_digits(value):
    if isinstance(value, float) and math.isfinite(value) and value != 0.0:
        return float(f"{value:.3g}")
    if isinstance(value, dict):
        return {k: _three_digits(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_three_digits(v) for v in value]
    return value


def stored_record(record: dict, cases: dict | None = None, reasons: dict | None = None) -> dict:
    """A record as results.json keeps it (see above). `cases`: {case: {"group", "about"}} held
    apart; `reasons`: {message: index} of the not-run reasons held apart."""
    out = {k: v for k, v in record.items() if k not in STORED_ONLY_IN_JOURNAL and k != "about"}
    if cases and out.get("case") in cases and cases[out["case"]].get("group") == out.get("group"):
        del out["group"]
    if reasons is not None and out.get("status") in NOT_RUN and out.get("message") in reasons:
        out["reason"] = reasons[out.pop("message")]
    if out.get("status") not in PASSED:
        return out
    for key in BRIEF_DROPS:
        out.pop(key, None)
    for key in ("outputs", "gradients"):
        if key in out:
            if check_of(out) == "forward":
                out[key] = [{k: c[k] for k in BRIEF_COMPARISON if k in c} for c in out[key]]
            else:
                del out[key]
    if "invalid_inputs" in out:
        out["invalid_inputs"] = [{k: v for k, v in item.items() if k != "message"} for item in out["invalid_inputs"]]
    return _three_digits(out)


def stored(document: dict) -> dict:
    """The document as results.json keeps it."""
    records = document.get("records", [])
    cases = dict(document.get("cases") or {})
    for r in records:
        if "case" in r and r["case"] not in cases:
            cases[r["case"]] = {"group": r.get("group", ""), "about": r.get("about", "")}
    reasons = list(dict.fromkeys(r.get("message", "") for r in records if r.get("status") in NOT_RUN))
    index = {message: number for number, message in enumerate(reasons)}
    out = {k: v for k, v in document.items() if k not in ("records", "speed", "cases", "reasons")}
    out["schema_version"] = SCHEMA_VERSION
    out["cases"] = dict(sorted(cases.items()))
    out["reasons"] = reasons
    out["records"] = [stored_record(r, out["cases"], index) for r in records]
    out["speed"] = document.get("speed", [])
    return out


def restored(document: dict) -> dict:
    """A document read from results.json with each record's group, description and not-run
    reason put back."""
    cases, reasons = document.get("cases") or {}, document.get("reasons") or []
    for record in document.get("records", []):
        case = cases.get(record.get("case")) or {}
        for key in ("group", "about"):
            if key not in record and key in case:
                record[key] = case[key]
        if "reason" in record and isinstance(record["reason"], int) and record["reason"] < len(reasons):
            record["message"] = reasons[record.pop("reason")]
    return document


def _lines(document: dict) -> str:
    """JSON with one top-level key per line and one record (or speed record) per line."""
    def one(value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    parts = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            items = ",\n".join(one(v) for v in value)
            parts.append(f"{one(key)}:[\n{items}\n]")
        else:
            parts.append(f"{one(key)}:{one(value)}")
    return "{" + ",\n".join(parts) + "}\n"


def write(path, document: dict) -> None:
    atomic_write_text(path, _lines(_clean(stored(document))))


def version_problem(version) -> Optional[str]:
    """Why a document of schema `version` cannot be read (None when it can)."""
    if version == SCHEMA_VERSION:
        return None
    if isinstance(version, int) and version < SCHEMA_VERSION:
        return (f"results schema_version {version} was written by an older lstm-conformance "
                f"({SCHEMA_HISTORY.get(version, 'an older layout')}); this tool reads {SCHEMA_VERSION} "
                f"({SCHEMA_HISTORY[SCHEMA_VERSION]}): run the baseline again with this version "
                "(lstm-conformance run --out DIR) and compare with that")
    return (f"results schema_version {version!r}; this tool reads {SCHEMA_VERSION} (a newer lstm-conformance "
            "wrote it, or it is not a results.json)")


def read(path) -> dict:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    problem = version_problem(document.get("schema_version"))
    if problem:
        raise ValueError(f"{path}: {problem}")
    return restored(document)


class Journal:
    """Records appended to a JSON Lines file as they complete, so that a crash of the process
    (even a segfault) leaves every record up to it. Before each unit (case × dtype ×
    implementation), a line {"running": {"case": ..., "dtype": ..., "impl": ...}} says what is
    being run; a run that ends (even stopped early) writes {"finished": true} last, so a file
    without it ended in a crash, in the unit of its last "running" line. Every other line is a record."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8")

    def _write(self, item: dict) -> None:
        self._file.write(json.dumps(_clean(item)) + "\n")
        self._file.flush()  # in the kernel's hands now: a crash of this process cannot lose it

    def running(self, case: str, dtype: str, impl: str) -> None:
        self._write({"running": {"case": case, "dtype": dtype, "impl": impl}})

    def record(self, record: dict) -> None:
        self._write(record)

    def finish(self) -> None:
        self._write({"finished": True})

    def close(self) -> None:
        self._file.close()


def read_journal(path) -> tuple[list[dict], dict | None]:
    """(records, the case running when the journal ended or None): what a crashed run left."""
    records, running = [], None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except ValueError:  # a line cut by the crash
            continue
        if "running" in item:
            running = item["running"]
        elif "finished" in item:
            running = None
        else:
            records.append(item)
    return records, running
