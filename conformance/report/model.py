"""The report model: every aggregate the reports show, computed once from the results document.

Markdown (tables.py) and HTML (html.py) only format what is here, so the two always agree:
case verdicts per group, the checks matrix, failures, expected failures, what did not run and
why, literal expectations, and the speed rows with their formatted numbers.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Optional

from .results import NOT_RUN, RAN, SEVERITY, STATUS_ORDER, Status, check_of, worst
from .summary import Group, condensed, problem_groups  # noqa: F401  (condensed: for the renderers)

# ----------------------------------------------------------------------------- numbers


def format_seconds(value) -> str:
    """'1.23 ms'; '–' for no value."""
    if value is None:
        return "–"
    value = float(value)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"


def format_error(value) -> str:
    return "–" if value is None else f"{value:.1e}"


# ----------------------------------------------------------------------------- correctness


def implementations(records: list[dict]) -> list[str]:
    """The implementations in the order they first appear."""
    return list(dict.fromkeys(r.get("impl") for r in records))


def groups(records: list[dict]) -> list[str]:
    return sorted({r.get("group", "") for r in records})


def case_verdicts(records: list[dict]) -> dict:
    """(impl, group, case, dtype) -> {"status": the most serious status over the case's checks,
    "worst": the max abs error of its forward comparison}."""
    verdicts: dict = {}
    for r in records:
        key = (r["impl"], r.get("group", ""), r["case"], r["dtype"])
        v = verdicts.setdefault(key, {"status": r["status"], "worst": None})
        # when the checks of one case disagree, the case shows the most serious of their statuses
        if SEVERITY.index(r["status"]) < SEVERITY.index(v["status"]):
            v["status"] = r["status"]
        if check_of(r) == "forward" and isinstance(r.get("max_abs"), float):
            v["worst"] = r["max_abs"]
    return verdicts


def group_cells(records: list[dict]) -> dict:
    """(impl, group) -> counts of case verdicts by status, plus "worst": the worst forward
    max-abs error of the group's cases."""
    cells: dict = defaultdict(Counter)
    for (impl, group, _case, _dtype), v in case_verdicts(records).items():
        cell = cells[(impl, group)]
        cell[v["status"]] += 1
        if v["worst"] is not None:
            cell["worst"] = max(cell.get("worst", 0.0), v["worst"])
    return cells


def check_columns(records: list[dict], check_order=None) -> list[str]:
    """The checks present in the records, in the catalogue's order (the document's "checks",
    recorded by the run); checks it does not list go last, in order of appearance."""
    seen = list(dict.fromkeys(check_of(r) for r in records))
    order = list(check_order or ())
    return [c for c in order if c in seen] + [c for c in seen if c not in order]


def check_cells(records: list[dict]) -> dict:
    """(impl, check) -> counts of records by status."""
    cells: dict = defaultdict(Counter)
    for r in records:
        cells[(r.get("impl"), check_of(r))][r.get("status")] += 1
    return cells


@dataclass(frozen=True)
class Cell:
    """One cell of a matrix: passed / applicable, the statuses counted apart, the worst status."""

    passed: int
    applicable: int
    noted: tuple  # (count, status) for every status other than pass and fail
    worst: Status
    worst_error: Optional[float] = None

    @property
    def text(self) -> str:
        return f"{self.passed}/{self.applicable}" if self.applicable else "–"


NOTED = tuple(s for s in STATUS_ORDER if s not in (Status.PASS, Status.FAIL))


def cell(counts: Counter) -> Cell:
    applicable = sum(counts[s] for s in RAN)
    present = [s for s in STATUS_ORDER if counts[s]]
    return Cell(passed=counts[Status.PASS], applicable=applicable,
                noted=tuple((counts[s], s) for s in NOTED if counts[s]),
                worst=worst(present) or Status.UNSUPPORTED, worst_error=counts.get("worst"))


def problems(records: list[dict]) -> list[dict]:
    """Failures and errors: what fails the gate."""
    return [r for r in records if r.get("status") in (Status.FAIL, Status.ERROR)]


def unexpected_passes(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("status") == Status.XPASS]


def failure_groups(records: list[dict]) -> list[Group]:
    """Failures, errors and unexpected passes grouped as the console summary groups them (by
    implementation and diagnosis, errors by exception), largest first: 99 failures that a gate
    swap explains are one group. Each Group has .sentence, .example and .records."""
    return problem_groups(problems(records) + unexpected_passes(records))


def where(record: dict) -> str:
    """'toy-memory-tanh [float32] forward'."""
    return f"{record.get('case')} [{record.get('dtype')}] {check_of(record)}"


def diagnosis_sentence(record: dict) -> str:
    """The record's diagnosis as one sentence, where it says more than its group's sentence
    (which names the known defect that reproduces it): "" with a pattern or without a diagnosis."""
    diagnosis = record.get("diagnosis") or {}
    summary = diagnosis.get("summary")
    if not summary or diagnosis.get("patterns"):
        return ""
    return f"Diagnosis: {summary[0].upper() + summary[1:]}."


def expected_failures(records: list[dict]) -> list[dict]:
    return [r for r in records if r.get("status") == Status.XFAIL]


def judged_by_expectations(records: list[dict]) -> list[dict]:
    """xfail and xpass records: those an expectations entry matched."""
    return [r for r in records if r.get("status") in (Status.XFAIL, Status.XPASS)]


def expected_reason(record: dict) -> str:
    return (record.get("expected_failure") or {}).get("reason", "")


def not_run(records: list[dict]) -> list[tuple]:
    """(impl, status, reason, how many records), for unsupported and skipped records."""
    counts = Counter((r.get("impl"), r.get("status"), r.get("message", "")) for r in records
                     if r.get("status") in NOT_RUN)
    return [(impl, status, message, n) for (impl, status, message), n
            in sorted(counts.items(), key=lambda kv: tuple(map(str, kv[0])))]


def literal_rows(records: list[dict]) -> list[tuple]:
    """(case, dtype, impl, expectation, verdict) of every literal expectation checked."""
    rows = []
    for r in records:
        for lit in r.get("literals", []):
            verdict = {True: "pass", False: "FAIL", None: "not checked"}[lit["passed"]]
            rows.append((r["case"], r["dtype"], r["impl"], f"{lit['output']} ({lit['rule']})", verdict))
    return rows


# ----------------------------------------------------------------------------- speed

SPEED_HEADERS = ("shape", "mode", "dtype", "implementation", "median", "IQR", "rounds", "vs {baseline} [95% CI]",
                 "GFLOP/s", "% of GEMM", "note")


def speed_note(s: dict) -> str:
    """What a reader must know about a row: the noise guard's verdict, and a share of the GEMM
    rate above 100%."""
    notes = []
    if s.get("reliable") is False:
        reasons = (s.get("noise") or {}).get("reasons") or ["noisy"]
        notes.append("unreliable, not gated: " + "; ".join(reasons))
    share = s.get("gemm_share")
    if share is not None and share > 1.0:
        gemm = s.get("gemm") or {}
        notes.append(f"above the GEMM rate: the implementation ran faster than the {gemm.get('m')}×{gemm.get('k')} "
                     f"@ {gemm.get('k')}×{gemm.get('n')} {gemm.get('library', '')} GEMM measured as the yardstick "
                     "(a fused kernel, such as oneDNN's RNN, can beat a plain GEMM; or the machine was faster "
                     "during this row than during the GEMMs)")
    return "; ".join(notes)


def format_ratio(s: dict) -> str:
    """'1.05× [0.98–1.12]': the ratio and its bootstrap 95% interval; '–' for none."""
    ratio = s.get("ratio")
    if ratio is None:
        return "–"
    interval = s.get("ratio_ci")
    return f"{ratio:.2f}×" + (f" [{interval[0]:.2f}–{interval[1]:.2f}]" if interval else "")


def speed_rows(speed: list[dict]) -> list[tuple]:
    """One row of formatted values per speed record, in SPEED_HEADERS order."""
    rows = []
    for s in speed:
        head = (s.get("shape"), s.get("mode", "forward"), s.get("dtype", "–"), s.get("impl"))
        if s.get("status") != "ok":
            rows.append(head + ("–",) * 6 + (s.get("message", ""),))
            continue
        gflops, share = s.get("gflops"), s.get("gemm_share")
        rows.append(head + (format_seconds(s.get("median")), format_seconds(s.get("iqr")), s.get("rounds", "–"),
                            format_ratio(s),
                            "–" if gflops is None else f"{gflops:.3g}",
                            "–" if share is None else f"{100 * share:.1f}%" + (" (!)" if share > 1.0 else ""),
                            speed_note(s)))
    return rows


def speed_baseline(speed: list[dict], default: str = "torch-lstm") -> str:
    """The timing baseline the ratios are against (recorded in each speed record)."""
    return next((s["baseline"] for s in speed if s.get("baseline")), default)


def gemm_rates(speed: list[dict]) -> dict:
    """(dtype, device) -> the GEMM rate measured in the run."""
    return {(s["dtype"], s.get("device", "cpu")): s["gemm"] for s in speed if s.get("gemm")}


def run_conditions(speed: list[dict]) -> Optional[dict]:
    return next((s["conditions"] for s in speed if s.get("conditions")), None)


SPEED_ENVIRONMENT_KEYS = ("cpu", "cpu_count", "torch", "torch_threads", "numpy", "blas", "blas_core", "gpu", "cuda",
                          "cudnn", "cudnn_enabled", "cudnn_allow_tf32", "matmul_allow_tf32")


def speed_environment(environment: dict) -> list[tuple]:
    """(key, value) of the environment that matters for speed."""
    return [(k, environment[k]) for k in SPEED_ENVIRONMENT_KEYS if environment.get(k) is not None]
