"""Markdown tables (tabulate) rendered from results.json records."""
from __future__ import annotations

from collections import defaultdict

from tabulate import tabulate


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.1e}"


def correctness_summary(records: list[dict]) -> dict:
    """(impl, group) -> counts of each status and the worst max-abs error over passes and fails."""
    summary: dict = defaultdict(lambda: defaultdict(int))
    for r in records:
        cell = summary[(r["impl"], r["group"])]
        cell[r["status"]] += 1
        if isinstance(r.get("max_abs"), float):
            cell["worst"] = max(cell.get("worst", 0.0), r["max_abs"])
    return summary


def _cell(counts) -> str:
    applicable = sum(counts[s] for s in ("pass", "fail", "error", "xfail", "xpass"))
    parts = [f"{counts['pass']}/{applicable}" if applicable else "–"]
    if applicable:
        parts.append(f"({_fmt(counts.get('worst'))})")
    for status in ("error", "unsupported", "skipped", "xfail", "xpass"):
        if counts[status]:
            parts.append(f"{counts[status]} {status}")
    return " ".join(parts)


def correctness_markdown(records: list[dict]) -> str:
    impls = list(dict.fromkeys(r["impl"] for r in records))
    groups = sorted({r["group"] for r in records})
    summary = correctness_summary(records)
    rows = [[impl] + [_cell(summary[(impl, g)]) for g in groups] for impl in impls]
    out = ["# Correctness", "",
           "Each cell: passed / applicable cases (worst max abs error against the float64 reference); "
           "unsupported and skipped cases are counted apart and not in the total.", "",
           tabulate(rows, headers=["implementation"] + groups, tablefmt="github"), ""]

    failures = [r for r in records if r["status"] in ("fail", "error")]
    out += ["## Failures and errors", ""]
    if failures:
        out.append(tabulate([[r["impl"], r["case"], r["dtype"], r["status"], r["message"]] for r in failures],
                            headers=["implementation", "case", "dtype", "status", "where and what"], tablefmt="github"))
    else:
        out.append("None.")
    out.append("")

    reasons = sorted({(r["impl"], r["status"], r["message"]) for r in records if r["status"] in ("unsupported", "skipped")})
    if reasons:
        counts = defaultdict(int)
        for r in records:
            if r["status"] in ("unsupported", "skipped"):
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
           f"ratio = median / median of `{baseline}` on the same shape in the same run (lower is faster).", ""]
    if environment:
        keys = ("cpu", "cpu_count", "torch", "torch_threads", "numpy", "blas", "gpu", "cudnn_allow_tf32")
        out += ["Environment: " + ", ".join(f"{k} {environment[k]}" for k in keys if environment.get(k) is not None), ""]
    rows = []
    for s in speed:
        if s.get("status") != "ok":
            rows.append([s["shape"], s.get("mode", "forward"), s["impl"], "–", "–", "–", "–", s.get("message", "")])
            continue
        ratio = s.get("ratio")
        rows.append([s["shape"], s.get("mode", "forward"), s["impl"], _seconds(s["median"]), _seconds(s["iqr"]),
                     s["rounds"], "–" if ratio is None else f"{ratio:.2f}×", ""])
    out.append(tabulate(rows, headers=["shape", "mode", "implementation", "median", "IQR", "rounds",
                                       f"vs {baseline}", "note"], tablefmt="github"))
    out.append("")
    return "\n".join(out)
