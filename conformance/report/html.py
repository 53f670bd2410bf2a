"""report.html: one self-contained page (inline CSS, plots as base64 PNG, no script, no
network) rendered from a results.json document alone.

Sections: summary, correctness matrix coloured by status, coverage matrix, failures with
where they deviate and any diagnosis, expected failures, what was not run and why, speed
table, plots.
"""
from __future__ import annotations

import html
import math
from collections import Counter, defaultdict

from . import model, plots
from .results import STATUS_ORDER, Status, atomic_write_text, check_of

# background, text colour
STATUS_COLOURS = {
    Status.PASS: ("#c8e6c9", "#1b5e20"), Status.FAIL: ("#ffcdd2", "#b71c1c"), Status.ERROR: ("#e1bee7", "#4a148c"),
    Status.XFAIL: ("#ffe0b2", "#e65100"), Status.XPASS: ("#fff59d", "#795548"),
    Status.UNSUPPORTED: ("#cfd8dc", "#263238"), Status.SKIPPED: ("#ffffff", "#757575"),
}
UNKNOWN_COLOURS = ("#ffffff", "#000000")

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1400px;
       padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #fafafa; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.group th { background: #eef; text-align: left; }
.badge { display: inline-block; padding: 0.05em 0.45em; border-radius: 0.3em; margin: 0.05em; font-size: 0.9em; }
.legend .badge { margin-right: 0.6em; }
.status-unsupported { font-weight: 600; }
.status-skipped { border: 1px dashed #9e9e9e; font-style: italic; }
.diagnosis { font-weight: 600; }
ul.cases { columns: 2; font-family: ui-monospace, monospace; font-size: 0.85em; }
.yes { background: #c8e6c9; } .no { background: #eceff1; color: #777; }
.failure { border-left: 4px solid #b71c1c; padding: 0.3em 1em; margin: 1em 0; background: #fff8f8; }
.failure.error { border-color: #4a148c; background: #fbf6fd; }
.message { font-family: ui-monospace, monospace; font-size: 0.85em; white-space: pre-wrap; word-break: break-word; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
img { max-width: 100%; border: 1px solid #eee; }
.note { color: #666; font-size: 0.9em; }
.warning { color: #8a4b00; background: #fff4e0; padding: 0.4em 0.6em; }
div.wide { overflow-x: auto; }
"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def badge(status: str, text: str | None = None, title: str = "") -> str:
    bg, fg = STATUS_COLOURS.get(status, UNKNOWN_COLOURS)
    return (f'<span class="badge status-{esc(status)}" style="background:{bg};color:{fg}" title="{esc(title)}">'
            f"{esc(text if text is not None else status)}</span>")


def _number(value, digits: int = 3) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if math.isnan(value) or math.isinf(value):
        return esc(value)
    return f"{value:.{digits}g}"


def _table(headers, rows, classes=None) -> str:
    """rows hold already-escaped HTML cells."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<div class="wide"><table class="{esc(classes or "")}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


# ---------------------------------------------------------------- sections

def summary_section(document: dict) -> str:
    records = document.get("records", [])
    counts = Counter(r.get("status") for r in records)
    settings = document.get("settings", {})
    parts = [badge(s, f"{counts[s]} {s}") for s in STATUS_ORDER if counts[s]]
    parts += [badge(s, f"{n} {s}") for s, n in sorted(counts.items(), key=str) if s not in STATUS_ORDER]
    out = ["<h2 id=summary>Summary</h2>", f"<p>{len(records)} results: {' '.join(parts) or 'none'}</p>"]
    if settings.get("interrupted"):
        out.append('<p class="failure"><b>This run was interrupted</b>: the results below are those computed '
                   "before it stopped.</p>")
    groups, cells = model.groups(records), model.group_cells(records)  # per case and dtype, as in correctness.md
    rows = [[esc(impl)] + [_badge_cell(cells[(impl, group)]) for group in groups]
            for impl in model.implementations(records)]
    out.append("<p class=note>Per implementation and group: passed / cases run, a case (one spec case in one "
               "dtype) passing when every check applicable to it passes (colour: the worst status).</p>")
    out.append(_table(["implementation"] + groups, rows))
    return "\n".join(out)


STATUS_MEANING = {
    Status.PASS: "within the tolerances", Status.FAIL: "ran and deviated from the spec",
    Status.ERROR: "the adapter raised", Status.XFAIL: "a known failure (expectations file)",
    Status.XPASS: "an expected failure that passed", Status.UNSUPPORTED: "the implementation lacks the feature",
    Status.SKIPPED: "this environment cannot run it (e.g. no GPU)",
}


def legend() -> str:
    return '<p class="legend">' + "".join(badge(s, title=STATUS_MEANING[s]) + f"<span class=note>{esc(STATUS_MEANING[s])}"
                                          "</span> " for s in STATUS_ORDER) + "</p>"


def correctness_matrix(records: list[dict]) -> str:
    impls = list(dict.fromkeys(r.get("impl") for r in records))
    cells: dict = defaultdict(list)
    groups: dict = defaultdict(dict)
    for r in records:
        key = (r.get("case"), r.get("dtype"))
        cells[(key, r.get("impl"))].append(r)
        groups[r.get("group", "")][key] = True
    multi_check = len({check_of(r) for r in records}) > 1
    head = "".join(f"<th>{esc(i)}</th>" for i in impls)
    body = []
    for group in sorted(groups):
        body.append(f'<tr class="group"><th colspan="{len(impls) + 2}">{esc(group or "(no group)")}</th></tr>')
        for case, dtype in sorted(groups[group]):
            row = [f"<td>{esc(case)}</td><td>{esc(dtype)}</td>"]
            for impl in impls:
                found = cells.get(((case, dtype), impl), [])
                badges = [badge(r.get("status", "?"),
                                check_of(r) if multi_check else r.get("status", "?"),
                                f"{r.get('check', 'forward')}: {r.get('status')} {r.get('message', '')}".strip())
                          for r in sorted(found, key=lambda r: r.get("check", ""))]
                row.append(f"<td>{''.join(badges) or '–'}</td>")
            body.append("<tr>" + "".join(row) + "</tr>")
    note = ("<p class=note>One row per case and dtype; hover a cell for the message." +
            (" Each badge is one check, coloured by its status." if multi_check else "") + "</p>")
    return ("<h2 id=correctness>Correctness matrix</h2>" + legend() + note +
            f"<table class=matrix><thead><tr><th>case</th><th>dtype</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _badge_cell(counts) -> str:
    """A matrix cell: passed / run, coloured by the worst status, every count on hover."""
    if not any(counts[s] for s in STATUS_ORDER):
        return "–"
    cell = model.cell(counts)
    return badge(cell.worst, cell.text, ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s]))


def checks_run_table(records: list[dict], check_order=None) -> str:
    """Per implementation and check: passed / run, coloured by the worst status."""
    checks, cells = model.check_columns(records, check_order), model.check_cells(records)
    rows = [[esc(impl)] + [_badge_cell(cells[(impl, check)]) for check in checks]
            for impl in model.implementations(records)]
    return ("<h3>Checks run</h3><p class=note>Per implementation and check: passed / run (hover for all "
            "statuses).</p>" + _table(["implementation"] + checks, rows))


def coverage_section(coverage: dict | None, records: list[dict] | None = None, check_order=None) -> str:
    out = ["<h2 id=coverage>Coverage matrix</h2>"]
    if records:
        out.append(checks_run_table(records, check_order))
    if not coverage or not coverage.get("rows"):
        out.append("<p class=note>No capability data in this results file.</p>")
        return "\n".join(out)
    out.append("<h3>Capabilities</h3>")
    columns = coverage.get("columns", [])
    impls = list(coverage["rows"])
    rows = []
    for column in columns:  # one row per capability: there are many more of them than implementations
        row = [esc(column)]
        for impl in impls:
            cell = coverage["rows"][impl].get(column, {})
            ok = bool(cell.get("supported"))
            note = cell.get("note", "")
            row.append(f'<span class="badge {"yes" if ok else "no"}" title="{esc(note)}">{"yes" if ok else "no"}</span>'
                       + (f' <span class=note>{esc(note)}</span>' if note and not ok else ""))
        rows.append(row)
    out.append("<p class=note>What each implementation declares it can run, and its reason where it cannot. "
               "Cases needing a 'no' are reported as unsupported, not failed.</p>")
    out.append(_table(["capability"] + impls, rows))
    for impl, note in sorted(coverage.get("notes", {}).items()):
        out.append(f"<p class=note>{esc(impl)}: {esc(note)}</p>")
    return "\n".join(out)


def _location_rows(record: dict) -> list:
    rows = []
    for out in record.get("outputs", []):
        if out.get("passed", True):
            continue
        worst = out.get("worst") or {}
        where = ", ".join(f"{k}={v}" for k, v in (worst.get("index") or {}).items())
        total = math.prod(out.get("shape") or [0])
        bad = out.get("failing_elements")
        rows.append([esc(out.get("output")), esc(where or "–"), _number(worst.get("expected"), 9),
                     _number(worst.get("got"), 9), _number(worst.get("abs_error")), _number(out.get("max_rel")),
                     _number(out.get("max_ulp")), esc(f"{bad} of {total}" if bad is not None else out.get("message", ""))])
    return rows


MAX_LISTED = 200  # cases listed under a failure group; the rest are counted


def _case_list(records: list[dict]) -> str:
    items = "".join(f"<li>{esc(model.where(r))}</li>" for r in records[:MAX_LISTED])
    rest = len(records) - MAX_LISTED
    more = f"<li>… and {rest} more</li>" if rest > 0 else ""
    return f"<ul class=cases>{items}{more}</ul>"


def failure_group(group) -> str:
    """One group of failures with the same diagnosis: the sentence, its cases, and one
    example with where it deviates."""
    example = group.example
    status = example.get("status")
    n = group.count
    title = (f"{badge(status)} <b>{esc(group.impl)}</b> — {n} result{'s' if n != 1 else ''}: "
             f"{esc(group.sentence)}")
    parts = [f'<div class="failure {esc(status)}"><h3>{title}</h3>']
    diagnosis = model.diagnosis_sentence(example)
    if diagnosis:
        parts.append(f"<p class=diagnosis>{esc(diagnosis)}</p>")
    message = example.get("message", "")
    short = model.condensed(message, limit=600)
    parts.append(f"<p class=note>For example {esc(model.where(example))}:</p>"
                 f'<div class="message">{esc(short)}</div>')
    if short != " ".join(message.split()):  # a long or multi-line message: the whole of it, folded
        parts.append(f'<details><summary>full message</summary><div class="message">{esc(message)}</div></details>')
    locations = _location_rows(example)
    if locations:
        parts.append(_table(["output", "worst element", "expected", "got", "abs error", "max rel", "max ULP",
                             "elements out of tolerance"], locations))
    literals = [lit for lit in example.get("literals", []) if lit.get("passed") is False]
    if literals:
        parts.append(_table(["literal expectation", "message"],
                            [[esc(f"{lit.get('output')} ({lit.get('rule')})"), esc(lit.get("message", ""))]
                             for lit in literals]))
    if example.get("traceback"):
        parts.append(f"<details><summary>traceback</summary><pre>{esc(example['traceback'])}</pre></details>")
    parts.append(f"<details{' open' if n <= 10 else ''}><summary>the {n} result{'s' if n != 1 else ''} "
                 f"of this group</summary>{_case_list(group.records)}</details>")
    parts.append("</div>")
    return "\n".join(parts)


def failures_section(records: list[dict]) -> str:
    groups = model.failure_groups(records)
    out = ["<h2 id=failures>Failures and errors</h2>"]
    if not groups:
        out.append("<p>None.</p>")
    else:
        out.append(f"<p class=note>{sum(g.count for g in groups)} results in {len(groups)} groups: by implementation "
                   "and diagnosis (errors by exception); each group shows one example.</p>")
    out += [failure_group(g) for g in groups]
    expected = model.expected_failures(records)
    if expected:
        out.append("<h3>Expected failures (xfail)</h3>")
        out.append(_table(["implementation", "case", "dtype", "check", "reason", "what failed"], [
            [esc(r.get("impl")), esc(r.get("case")), esc(r.get("dtype")), esc(check_of(r)),
             esc(model.expected_reason(r)), f'<span class=message>{esc(r.get("message"))}</span>']
            for r in expected]))
    return "\n".join(out)


def not_run_section(records: list[dict]) -> str:
    not_run = model.not_run(records)
    if not not_run:
        return ""
    rows = [[esc(impl), badge(status), f"<span class=num>{n}</span>", esc(message)]
            for impl, status, message, n in not_run]
    return "<h2 id=not-run>Not run, and why</h2>" + _table(["implementation", "status", "cases", "reason"], rows)


def speed_section(speed: list[dict], environment: dict) -> str:
    """The speed.md table, with the same headers (report model)."""
    out = ["<h2 id=speed>Speed</h2>"]
    if not speed:
        out.append("<p class=note>No speed measurements in this results file (run <code>report</code>, "
                   "not <code>run</code>, to measure).</p>")
        return "\n".join(out)
    baseline = model.speed_baseline(speed)
    headers = [h.format(baseline=baseline) for h in model.SPEED_HEADERS]
    rows = [[esc(v) for v in row] for row in model.speed_rows(speed)]
    machine = ", ".join(f"{k} {v}" for k, v in model.speed_environment(environment))
    out.append(f"<p class=note>Median of the timed computation (pytest-benchmark), the implementations of a shape "
               f"timed round-robin; ratio = the median over rounds of the time / the time of {esc(baseline)} in the "
               f"same round (lower is faster), with its bootstrap 95% interval; % of GEMM: the rate over the "
               f"matrix-multiply rate measured in the same run. Rows marked unreliable (noise guard) are shown, "
               f"never gated. {esc(machine)}</p>")
    if environment.get("blas_warning"):
        out.append(f"<p class=warning><strong>Warning:</strong> {esc(environment['blas_warning'])}</p>")
    out.append(_table(headers, rows))
    return "\n".join(out)


def plots_section(document: dict) -> str:
    out = ["<h2 id=plots>Plots</h2>"]
    error_data = plots.error_by_step_data(document.get("records", []))
    png = plots.plot_error_by_step(error_data) if error_data else None
    if png:
        out.append(f'<figure><img class="plot" id="plot-error-by-step" alt="error against time step" '
                   f'src="{plots.data_uri(png)}"><figcaption class=note>Largest |y − reference| at each step of '
                   f"{esc(error_data.get('case'))} [{esc(error_data.get('dtype'))}], the longest case of the run "
                   "(from the forward records); the dashed line is the tolerance.</figcaption></figure>")
    else:
        out.append("<p class=note>Error against time step: no data (no forward record has a per-step "
                   "profile).</p>")
    for impl, note in sorted(((error_data or {}).get("notes") or {}).items()):
        out.append(f"<p class=note>{esc(impl)}: {esc(note)}</p>")
    speed = document.get("speed", [])
    png = plots.plot_time_by_batch(speed)
    unreliable = sum(1 for s in speed if s.get("reliable") is False)
    left_out = f" {unreliable} unreliable rows (noise guard) are left out." if unreliable else ""
    if png:
        out.append(f'<figure><img class="plot" id="plot-time-by-batch" alt="time against batch size" '
                   f'src="{plots.data_uri(png)}"><figcaption class=note>Median forward time of shapes that differ '
                   f"only in batch size; the bars span the interquartile range.{esc(left_out)}</figcaption></figure>")
    else:
        out.append("<p class=note>Time against batch size: no reliable speed records of shapes that differ only "
                   f"in batch size.{esc(left_out)}</p>")
    return "\n".join(out)


def environment_section(document: dict) -> str:
    env = document.get("environment", {})
    rows = [[esc(k), esc(v)] for k, v in env.items()]
    settings = [[esc(k), esc(v)] for k, v in (document.get("settings") or {}).items()]
    return ("<h2 id=environment>Environment</h2>" + _table(["key", "value"], rows) +
            ("<h3>Settings</h3>" + _table(["key", "value"], settings) if settings else ""))


def render(document: dict) -> str:
    records = document.get("records", [])
    env = document.get("environment", {})
    title = "LSTM conformance report"
    subtitle = ", ".join(f"{k} {env[k]}" for k in ("lstm_conformance", "git_revision", "torch", "cpu")
                         if env.get(k))
    nav = " · ".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("summary", "summary"), ("correctness", "correctness"), ("coverage", "coverage"), ("failures", "failures"),
        ("speed", "speed"), ("plots", "plots"), ("environment", "environment")))
    body = [f"<h1>{title}</h1>", f"<p class=note>{esc(subtitle)}</p>", f"<p>{nav}</p>",
            summary_section(document), correctness_matrix(records), coverage_section(document.get("coverage"), records, document.get("checks")),
            failures_section(records), not_run_section(records), speed_section(document.get("speed", []), env),
            plots_section(document), environment_section(document)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title><style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write(path, document: dict) -> None:
    atomic_write_text(path, render(document))
