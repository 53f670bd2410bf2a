"""`compare BASELINE CURRENT`: the CI regression gate between two results.json files.

A regression (exit status 1) is: a case that passed now fails or errors; a case that ran
is now unsupported; a record of the baseline that the current run lacks (unless
allow_missing: then it is listed, not gated); a speed that worsened past the threshold.

Speed is compared on what both runs measured: the ratio to the timing baseline of each run
(`ratio` in the speed records: the time divided by that of the implementation named in
`baseline`, usually torch-lstm, timed in the same run) when both runs have it; otherwise the
implementation's own median time, which compares only runs on the same machine, and the
change says so. A speed change is a regression only when its 95% interval (from the bootstrap
intervals of both runs' ratios) lies wholly beyond the threshold, and never for a row the
noise guard marked unreliable in either run (a busy machine): those are listed, not gated. Everything else that changed (improvements, new cases, cases skipped here)
is listed for information and does not fail the gate.
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from .results import FAILED, NOT_RUN, PASSED, RECORD_MEASURED, SPEED_MEASURED, Status, check_of, restored, version_problem

NOT_PASSING = FAILED | {Status.XFAIL}  # an expected failure of a case that passed is still worse

# Kinds of change, in the order they are shown.
KINDS = ("regression", "improvement", "changed", "new", "missing")



@dataclass(frozen=True)
class Change:
    kind: str  # one of KINDS
    what: str  # "case" or "speed"
    key: tuple
    before: str
    after: str
    note: str = ""


def record_key(record: dict) -> tuple:
    return (record.get("case", "?"), record.get("dtype", "?"), record.get("impl", "?"), check_of(record))


def speed_key(entry: dict) -> tuple:
    return (entry.get("shape", "?"), entry.get("mode", "forward"), entry.get("impl", "?"), entry.get("dtype", "?"))


def _status_change(before: str, after: str) -> tuple[str, str]:
    """(kind, note) of a status transition of the same case."""
    if before in PASSED and after in NOT_PASSING:
        return "regression", f"passed in the baseline, now {after}"
    if after == Status.UNSUPPORTED and before not in NOT_RUN:
        return "regression", f"ran in the baseline ({before}), now unsupported"
    if before in NOT_PASSING and after in PASSED:
        return "improvement", f"was {before}, now passes"
    if before == Status.UNSUPPORTED and after not in NOT_RUN:
        return "improvement", f"now supported ({after})"
    if after == Status.SKIPPED:
        return "changed", "skipped in this environment: not compared"
    return "changed", f"{before} -> {after}"


def compare_records(baseline: list[dict], current: list[dict], allow_missing: bool = False) -> list[Change]:
    before = {record_key(r): r for r in baseline}
    after = {record_key(r): r for r in current}
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is None:
            changes.append(Change("new", "case", key, "–", new.get("status", "?"), "not in the baseline"))
        elif new is None:
            if allow_missing:
                changes.append(Change("missing", "case", key, old.get("status", "?"), "–", "not in the current run"))
            else:
                changes.append(Change("regression", "case", key, old.get("status", "?"), "–",
                                      "in the baseline, missing from the current run (--allow-missing to accept)"))
        elif old.get("status") != new.get("status"):
            kind, note = _status_change(old.get("status"), new.get("status"))
            if kind == "regression" and new.get("message"):
                note += f": {new['message']}"
            changes.append(Change(kind, "case", key, old.get("status"), new.get("status"), note))
    return changes


def change_interval(before: float, before_ci, after: float, after_ci) -> tuple[float, float, float]:
    """(change, low, high) of after / before − 1, the interval combining both runs' intervals in
    log space (independent runs: their half-widths add in quadrature)."""
    change = math.log(after / before)

    def halves(value, ci):
        if not ci:
            return 0.0, 0.0
        low, high = ci
        return max(math.log(value / low), 0.0), max(math.log(high / value), 0.0)

    b_down, b_up = halves(before, before_ci)
    a_down, a_up = halves(after, after_ci)
    # the change grows when after grows or before shrinks
    down, up = math.hypot(a_down, b_up), math.hypot(a_up, b_down)
    return math.exp(change) - 1.0, math.exp(change - down) - 1.0, math.exp(change + up) - 1.0


def _measure(old: dict, new: dict):
    """(before, after, unit, what it is against, before's 95% interval, after's) of the speed
    both runs measured, or None. Intervals are None where a run has none (own times, old files)."""
    if old.get("ratio") is not None and new.get("ratio") is not None:
        base = new.get("baseline") or old.get("baseline") or "the timing baseline"
        return (old["ratio"], new["ratio"], "×", f"time relative to {base} timed in the same run",
                old.get("ratio_ci"), new.get("ratio_ci"))
    if old.get("median") is not None and new.get("median") is not None:
        return (old["median"] * 1e3, new["median"] * 1e3, " ms",
                "own time, no ratio in both runs: holds only when both ran on the same machine", None, None)
    return None


def _unreliable(old: dict, new: dict) -> str:
    """Why the noise guard takes the row out of the gate ("" when both runs are reliable)."""
    parts = [f"{run} run: {'; '.join((entry.get('noise') or {}).get('reasons') or ['noisy'])}"
             for run, entry in (("baseline", old), ("current", new)) if entry.get("reliable") is False]
    return "; ".join(parts)


def compare_speed(baseline: list[dict], current: list[dict], threshold: float) -> list[Change]:
    """Ratios to each run's timing baseline where both runs have them (so that runs on machines
    of different speed compare), else the implementations' own times (see the module text).
    A change is a regression only when its whole 95% interval (from both runs' bootstrap
    intervals) lies beyond the threshold; a row the noise guard marked unreliable in either run
    is shown, never gated."""
    before = {speed_key(s): s for s in baseline}
    after = {speed_key(s): s for s in current}
    changes = []
    for key in sorted(set(before) & set(after)):
        measured = _measure(before[key], after[key])
        if measured is None:
            if before[key].get("median") is not None:
                changes.append(Change("changed", "speed", key, before[key].get("status", "ok"), "–",
                                      after[key].get("message") or "not measured in the current run"))
            continue
        old, new, unit, against, old_ci, new_ci = measured
        shown = (f"{old:.3g}{unit}", f"{new:.3g}{unit}")
        growth, low, high = change_interval(old, old_ci, new, new_ci)
        interval = f", 95% interval {low:+.0%} to {high:+.0%}" if old_ci or new_ci else ""
        unreliable = _unreliable(before[key], after[key])
        if unreliable:
            if abs(growth) > threshold:
                changes.append(Change("changed", "speed", key, *shown,
                                      f"{growth:+.0%}{interval}: not gated, unreliable ({unreliable})"))
        elif low > threshold:
            changes.append(Change("regression", "speed", key, *shown,
                                  f"{growth:+.0%}{interval} ({against}; threshold {threshold:.0%})"))
        elif high < -threshold:
            changes.append(Change("improvement", "speed", key, *shown, f"{growth:+.0%}{interval} ({against})"))
        elif abs(growth) > threshold:
            changes.append(Change("changed", "speed", key, *shown,
                                  f"{growth:+.0%}{interval}: within the measurement's noise, not gated ({against})"))
    return changes


ENVIRONMENT_KEYS = ("cpu", "cpu_count", "gpu", "torch", "numpy", "blas", "torch_threads")


def environment_notes(baseline: dict, current: dict) -> list[str]:
    """What differs between the two machines: speed ratios are less comparable across them."""
    old, new = baseline.get("environment", {}), current.get("environment", {})
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in ENVIRONMENT_KEYS if old.get(k) != new.get(k)]


@dataclass
class Comparison:
    changes: list
    notes: list

    @property
    def regressions(self) -> list:
        return [c for c in self.changes if c.kind == "regression"]

    def exit_status(self) -> int:
        return 1 if self.regressions else 0

    def table(self, fmt: str = "simple") -> str:
        rows = []
        for change in sorted(self.changes, key=lambda c: (KINDS.index(c.kind), c.what, c.key)):
            rows.append([change.kind.upper() if change.kind == "regression" else change.kind, change.what,
                         " ".join(str(k) for k in change.key), change.before, change.after, change.note])
        return tabulate(rows, headers=["change", "kind", "what", "baseline", "current", "note"], tablefmt=fmt)

    def summary(self) -> str:
        counts = {k: sum(c.kind == k for c in self.changes) for k in KINDS}
        parts = [f"{n} {k}{'s' if n != 1 and k in ('regression', 'improvement') else ''}"
                 for k, n in counts.items() if n]
        verdict = "FAIL" if self.regressions else "OK"
        return f"{verdict}: " + (", ".join(parts) if parts else "no change")

    def text(self, fmt: str = "simple") -> str:
        out = []
        if self.changes:
            out += [self.table(fmt), ""]
        if self.notes:
            out += ["Environments differ (speed ratios may not be comparable): " + "; ".join(self.notes), ""]
        out.append(self.summary())
        return "\n".join(out) + "\n"

    def markdown(self) -> str:
        return "# Comparison with the baseline\n\n" + self.text("github")


def compare(baseline: dict, current: dict, threshold: float = 0.10, allow_missing: bool = False) -> Comparison:
    if threshold <= 0:
        raise ValueError(f"speed threshold must be positive, got {threshold}")
    changes = compare_records(baseline.get("records", []), current.get("records", []), allow_missing)
    changes += compare_speed(baseline.get("speed", []), current.get("speed", []), threshold)
    return Comparison(changes=changes, notes=environment_notes(baseline, current))


def without_timings(document: dict) -> dict:
    """The document less everything measured in seconds (for comparing two runs' contents)."""
    out = copy.deepcopy(document)
    for record in out.get("records", []):
        for key in RECORD_MEASURED:
            record.pop(key, None)
    for entry in out.get("speed", []):
        for key in SPEED_MEASURED:
            entry.pop(key, None)
    return out


def read_document(path, label: str = "results") -> dict:
    """A results.json document; ValueError with one clear line when it is not one."""

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ValueError(f"{label} {path}: cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{label} {path}: not UTF-8 text") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{label} {path}: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(document, dict) or not isinstance(document.get("records"), list):
        raise ValueError(f"{label} {path}: not a results.json file (expected an object with a 'records' list)")
    problem = version_problem(document.get("schema_version"))
    if problem:
        raise ValueError(f"{label} {path}: {problem}")
    if not isinstance(document.get("speed", []), list):
        raise ValueError(f"{label} {path}: 'speed' must be a list")
    return restored(document)


def parse_threshold(text: str) -> float:
    """A percentage ('10' or '10%') as a fraction (0.10); ValueError says what is accepted."""
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise ValueError(f"--speed-threshold {text!r}: expected a percentage such as 10 or 10%") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"--speed-threshold {text!r}: must be a positive percentage")
    return value / 100.0
