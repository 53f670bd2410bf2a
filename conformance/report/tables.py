"""Markdown tables (tabulate): the report model (model.py) formatted for correctness.md and speed.md."""
from __future__ import annotations

from tabulate import tabulate

from . import model
from .results import NOT_RUN, Status, check_of


def _markdown_cell(cell: model.Cell, with_error: bool = False) -> str:
    parts = [cell.text]
    if with_error and cell.applicable:
        parts.append(f"({model.format_error(cell.worst_error)})")
    parts += [f"{n} {status}" for n, status in cell.noted]
    return " ".join(parts)


def checks_markdown(records: list[dict], check_order=None) -> str:
    """Implementations × checks: passed / applicable records, unsupported and skipped apart."""
    checks = model.check_columns(records, check_order)
    cells = model.check_cells(records)
    rows = [[impl] + [_markdown_cell(model.cell(cells[(impl, check)])) for check in checks]
            for impl in model.implementations(records)]
    return tabulate(rows, headers=["implementation"] + checks, tablefmt="github")


def correctness_markdown(records: list[dict], check_order=None) -> str:
    groups, cells = model.groups(records), model.group_cells(records)
    rows = [[impl] + [_markdown_cell(model.cell(cells[(impl, g)]), with_error=True) for g in groups]
            for impl in model.implementations(records)]
    out = ["# Correctness", "",
           "Each cell: passed / applicable cases, a case being one spec case in one dtype, passed when "
           "every check applicable to it passes (in brackets: the worst max abs error of the forward "
           "comparison with the float64 reference); unsupported and skipped cases are counted apart "
           "and not in the total.", "",
           tabulate(rows, headers=["implementation"] + groups, tablefmt="github"), "",
           "## By check", "",
           "Passed / applicable results of each check over all cases.", "",
           checks_markdown(records, check_order), ""]

    groups = model.failure_groups(records)
    out += ["## Failures and errors", ""]
    if groups:
        out += [f"{sum(g.count for g in groups)} results in {len(groups)} groups, by implementation and diagnosis "
                "(errors by exception); each group with one example and its results.", ""]
    else:
        out += ["None.", ""]
    for number, group in enumerate(groups, 1):
        example = group.example
        out += [f"### {number}. {group.impl}: {group.count} result{'s' if group.count != 1 else ''}", "",
                group.sentence, ""]
        diagnosis = model.diagnosis_sentence(example)
        if diagnosis:
            out += [diagnosis, ""]
        message = model.condensed(example.get("message") or "", limit=600)
        out += [f"For example `{model.where(example)}`: {message}", "",
                "Results: " + ", ".join(f"`{model.where(r)}`" for r in group.records), ""]

    expected = model.judged_by_expectations(records)
    if expected:  # from an expectations file: known failures, with their reasons
        out += ["## Expected failures", "",
                tabulate([[r["impl"], r["case"], r["dtype"], check_of(r), r["status"], model.expected_reason(r)]
                          for r in expected],
                         headers=["implementation", "case", "dtype", "check", "status", "reason"], tablefmt="github"),
                ""]

    not_run = model.not_run(records)
    if not_run:
        out += ["## Not run, and why", "",
                tabulate([[impl, status, n, reason] for impl, status, reason, n in not_run],
                         headers=["implementation", "status", "cases", "reason"], tablefmt="github"), ""]

    literal_rows = model.literal_rows(records)
    if literal_rows:
        out += ["## Literal expectations", "",
                "Checked in addition to the unrounded comparison with the reference.", "",
                tabulate(literal_rows, headers=["case", "dtype", "implementation", "expectation", "result"],
                         tablefmt="github"), ""]
    return "\n".join(out)


def speed_markdown(speed: list[dict], environment: dict | None = None, baseline: str | None = None) -> str:
    baseline = baseline or model.speed_baseline(speed)
    out = ["# Speed", "",
           f"Median and interquartile range of the timed computation (pytest-benchmark); the implementations "
           f"of a shape, mode and dtype are timed round-robin, round by round, and the ratio is the median over "
           f"rounds of the time / the time of `{baseline}` in the same round (lower is faster), with its "
           f"bootstrap 95% interval. A row "
           f"the noise guard marks unreliable (load above the cores, or IQR above 10% of the median after "
           f"re-measuring) is shown but never gated by `compare`. GFLOP/s counts 2·T·B·4H·(I + H) per layer and direction for the forward "
           f"pass and 3× that for training (forward+backward); '% of GEMM' is that rate over the "
           f"matrix-multiply rate measured in the same run, dtype and device (the physical limit).", ""]
    if environment:
        out += ["Environment: " + ", ".join(f"{k} {v}" for k, v in model.speed_environment(environment)), ""]
        if environment.get("blas_warning"):
            out += [f"**Warning:** {environment['blas_warning']}", ""]
    conditions = model.run_conditions(speed)
    if conditions:
        out += ["Run conditions: " + ", ".join(f"{k} {v}" for k, v in conditions.items()), ""]
    gemms = model.gemm_rates(speed)
    if gemms:
        out += ["Matrix-multiply rate in this run (one fixed shape per device, best of several rounds of the "
                "fastest library; before / after the timings): " + "; ".join(
                    f"{dtype} {device} {g['gflops']:.1f} GFLOP/s ({g.get('library')}, {g.get('m')}×{g.get('k')} @ "
                    f"{g.get('k')}×{g.get('n')}" + (f"; {g['before']:.1f} / {g['after']:.1f}" if "before" in g and
                                                   "after" in g else "") + ")"
                    for (dtype, device), g in sorted(gemms.items())), ""]
    headers = [h.format(baseline=baseline) for h in model.SPEED_HEADERS]
    out.append(tabulate([list(row) for row in model.speed_rows(speed)], headers=headers, tablefmt="github"))
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

