"""Markdown tables (tabulate) rendered from results.json records."""
from __future__ import annotations

from collections import defaultdict

from tabulate import tabulate

from .results import NOT_RUN, RAN, SEVERITY, STATUS_ORDER, Status, check_of


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.1e}"


# Counted beside "passed / applicable": everything but a plain pass or fail.
NOTED = tuple(s for s in STATUS_ORDER if s not in (Status.PASS, Status.FAIL))


def case_verdicts(records: list[dict]) -> dict:
    """(impl, group, case, dtype) -> {"status": the most serious status over the case's checks,
    "worst": the max abs error of its forward comparison}."""
    verdicts: dict = {}
    for r in records:
        key = (r["impl"], r["group"], r["case"], r["dtype"])
        v = verdicts.setdefault(key, {"status": r["status"], "worst": None})
        # when the checks of one case disagree, the case shows the most serious of their statuses
        if SEVERITY.index(r["status"]) < SEVERITY.index(v["status"]):
            v["status"] = r["status"]
        if check_of(r) == "forward" and isinstance(r.get("max_abs"), float):
            v["worst"] = r["max_abs"]
    return verdicts


def correctness_summary(records: list[dict]) -> dict:
    """(impl, group) -> counts of case verdicts and the worst forward max-abs error."""
    summary: dict = defaultdict(lambda: defaultdict(int))
    for (impl, group, _case, _dtype), v in case_verdicts(records).items():
        cell = summary[(impl, group)]
        cell[v["status"]] += 1
        if v["worst"] is not None:
            cell["worst"] = max(cell.get("worst", 0.0), v["worst"])
    return summary


def _cell(counts) -> str:
    applicable = sum(counts[s] for s in RAN)
    parts = [f"{counts[Status.PASS]}/{applicable}" if applicable else "–"]
    if applicable:
        parts.append(f"({_fmt(counts.get('worst'))})")
    for status in NOTED:
        if counts[status]:
            parts.append(f"{counts[status]} {status}")
    return " ".join(parts)


def check_columns(records: list[dict], check_order=None) -> list[str]:
    """The checks present in the records, in the catalogue's order (the document's "checks",
    recorded by the run); checks it does not list go last, in order of appearance."""
    seen = list(dict.fromkeys(check_of(r) for r in records))
    order = list(check_order or ())
    return [c for c in order if c in seen] + [c for c in seen if c not in order]


def checks_markdown(records: list[dict], check_order=None) -> str:
    """Implementations × checks: passed / applicable records, unsupported and skipped apart."""
    impls = list(dict.fromkeys(r["impl"] for r in records))
    checks = check_columns(records, check_order)
    counts: dict = defaultdict(lambda: defaultdict(int))
    for r in records:
        counts[(r["impl"], check_of(r))][r["status"]] += 1
    rows = []
    for impl in impls:
        row = [impl]
        for check in checks:
            c = counts[(impl, check)]
            applicable = sum(c[s] for s in RAN)
            text = f"{c[Status.PASS]}/{applicable}" if applicable else "–"
            extra = [f"{c[s]} {s}" for s in NOTED if c[s]]
            row.append(" ".join([text] + extra))
        rows.append(row)
    return tabulate(rows, headers=["implementation"] + checks, tablefmt="github")


def correctness_markdown(records: list[dict], check_order=None) -> str:
    impls = list(dict.fromkeys(r["impl"] for r in records))
    groups = sorted({r["group"] for r in records})
    summary = correctness_summary(records)
    rows = [[impl] + [_cell(summary[(impl, g)]) for g in groups] for impl in impls]
    out = ["# Correctness", "",
           "Each cell: passed / applicable cases, a case being one spec case in one dtype, passed when "
           "every check applicable to it passes (in brackets: the worst max abs error of the forward "
           "comparison with the float64 reference); unsupported and skipped cases are counted apart "
           "and not in the total.", "",
           tabulate(rows, headers=["implementation"] + groups, tablefmt="github"), "",
           "## By check", "",
           "Passed / applicable results of each check over all cases.", "",
           checks_markdown(records, check_order), ""]

    failures = [r for r in records if r["status"] in (Status.FAIL, Status.ERROR)]
    out += ["## Failures and errors", ""]
    if failures:
        out.append(tabulate([[r["impl"], r["case"], r["dtype"], check_of(r), r["status"], r["message"]]
                             for r in failures],
                            headers=["implementation", "case", "dtype", "check", "status", "where and what"],
                            tablefmt="github"))
    else:
        out.append("None.")
    out.append("")

    expected = [r for r in records if r["status"] in (Status.XFAIL, Status.XPASS)]
    if expected:  # from an expectations file (expectations.py): known failures, with their reasons
        out += ["## Expected failures", "",
                tabulate([[r["impl"], r["case"], r["dtype"], check_of(r), r["status"],
                           (r.get("expected_failure") or {}).get("reason", "")] for r in expected],
                         headers=["implementation", "case", "dtype", "check", "status", "reason"], tablefmt="github"),
                ""]

    reasons = sorted({(r["impl"], r["status"], r["message"]) for r in records if r["status"] in NOT_RUN})
    if reasons:
        counts = defaultdict(int)
        for r in records:
            if r["status"] in NOT_RUN:
                counts[(r["impl"], r["status"], r["message"])] += 1
        out += ["## Not run, and why", "",
                tabulate([[i, s, counts[(i, s, m)], m] for i, s, m in reasons],
                         headers=["implementation", "status", "cases", "reason"], tablefmt="github"), ""]

    literal_rows = []
    for r in records:
        for lit in r.get("literals", []):
            verdict = {True: "pass", False: "FAIL", None: "not checked"}[lit["passed"]]
            literal_rows.append([r["case"], r["dtype"], r["impl"], f"{lit['output']} ({lit['rule']})", verdict])
    if literal_rows:
        out += ["## Literal expectations", "",
                "Checked in addition to the unrounded comparison with the reference.", "",
                tabulate(literal_rows, headers=["case", "dtype", "implementation", "expectation", "result"],
                         tablefmt="github"), ""]
    return "\n".join(out)


def _seconds(value) -> str:
    if value is None:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"


def speed_markdown(speed: list[dict], environment: dict | None = None, baseline: str = "torch-lstm") -> str:
    out = ["# Speed", "",
           f"Median and interquartile range of the timed computation (pytest-benchmark); "
           f"ratio = median / median of `{baseline}` on the same shape, mode and dtype in the same run "
           f"(lower is faster). GFLOP/s counts 2·T·B·4H·(I + H) per layer and direction for the forward "
           f"pass and 3× that for training (forward+backward); '% of GEMM' is that rate over the "
           f"matrix-multiply rate measured in the same run, dtype and device (the physical limit).", ""]
    if environment:
        keys = ("cpu", "cpu_count", "torch", "torch_threads", "numpy", "blas", "blas_core", "gpu", "cuda", "cudnn",
                "cudnn_enabled", "cudnn_allow_tf32", "matmul_allow_tf32")
        out += ["Environment: " + ", ".join(f"{k} {environment[k]}" for k in keys if environment.get(k) is not None), ""]
        if environment.get("blas_warning"):
            out += [f"**Warning:** {environment['blas_warning']}", ""]
    conditions = next((s["conditions"] for s in speed if s.get("conditions")), None)
    if conditions:
        out += ["Run conditions: " + ", ".join(f"{k} {v}" for k, v in conditions.items()), ""]
    gemms = {}
    for s in speed:
        if s.get("gemm"):
            gemms[(s["dtype"], s.get("device", "cpu"))] = s["gemm"]
    if gemms:
        out += ["Matrix-multiply rate in this run (fastest library; (M, K) @ (K, N)): " + "; ".join(
            f"{dtype} {device} {g['gflops']:.1f} GFLOP/s ({g['library']}, {g['m']}×{g['k']} @ {g['k']}×{g['n']})"
            for (dtype, device), g in sorted(gemms.items())), ""]
    rows = []
    for s in speed:
        head = [s["shape"], s.get("mode", "forward"), s.get("dtype", "–"), s["impl"]]
        if s.get("status") != "ok":
            rows.append(head + ["–", "–", "–", "–", "–", "–", s.get("message", "")])
            continue
        ratio, gflops, share = s.get("ratio"), s.get("gflops"), s.get("gemm_share")
        rows.append(head + [_seconds(s["median"]), _seconds(s["iqr"]), s["rounds"],
                            "–" if ratio is None else f"{ratio:.2f}×",
                            "–" if gflops is None else f"{gflops:.3g}",
                            "–" if share is None else f"{100 * share:.1f}%", ""])
    out.append(tabulate(rows, headers=["shape", "mode", "dtype", "implementation", "median", "IQR", "rounds",
                                       f"vs {baseline}", "GFLOP/s", "% of GEMM", "note"], tablefmt="github"))
    out.append("")
    return "\n".join(out)


def coverage_markdown(matrix: dict, counts: dict | None = None) -> str:
    """The feature × implementation matrix (coverage.feature_matrix): 'yes', or 'no' with the
    implementation's reason; then, with `counts` (coverage.run_counts), the cases and checks
    run per implementation."""
    impls = list(matrix["rows"])
    rows = []
    for column in matrix["columns"]:
        cells = []
        for impl in impls:
            cell = matrix["rows"][impl].get(column, {})
            cells.append("yes" if cell.get("supported") else ("no: " + cell["note"] if cell.get("note") else "no"))
        rows.append([column] + cells)
    out = ["# Coverage", "", tabulate(rows, headers=["feature"] + impls, tablefmt="github"), ""]
    for impl, note in sorted(matrix.get("notes", {}).items()):
        out.append(f"* {impl}: {note}")
    if counts:
        checks = sorted({c for entry in counts.values() for c in entry["by_check"]})
        count_rows = []
        for impl, entry in counts.items():
            cells = []
            for check in checks:
                statuses = entry["by_check"].get(check, {})
                ran = sum(n for s, n in statuses.items() if s not in NOT_RUN)
                unsupported = statuses.get(Status.UNSUPPORTED)
                cells.append(f"{ran}" + (f" ({unsupported} unsupported)" if unsupported else ""))
            count_rows.append([impl, entry["cases"], entry["checks_run"]] + cells)
        out += ["", "## Cases and checks run", "",
                "cases: case × dtype pairs on which at least one check ran; per check: records that ran "
                "(pass, fail, error, xfail, xpass), and how many were unsupported.", "",
                tabulate(count_rows, headers=["implementation", "cases", "checks run"] + checks, tablefmt="github")]
    out.append("")
    return "\n".join(out)

