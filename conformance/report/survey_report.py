"""survey.md and survey.html: the comparison report of `lstm-conformance survey`, rendered from
its results document alone (records, speed, coverage, case features and the "survey" block).

The report is built once as a list of blocks (heading, paragraph, table, list) and written as
Markdown and as one self-contained HTML page, so the two always say the same. Sections: the
implementations; features (pass / fail / unsupported per feature, from the records of the
cases that use it); checks; worst errors per dtype; speed against torch-lstm; one section per
finding; failures that no finding explains; what was left out and why; environment.
"""
from __future__ import annotations

import html
from collections import Counter, defaultdict
from statistics import median

from ..adapter import FEATURES
from . import model
from .results import FAILED, NOT_RUN, PASSED, Status, check_of

FEATURE_ROWS = ("plain",) + FEATURES + ("activations",)  # plain: cases using no optional feature but bias
FEATURE_NOTES = {"plain": "no optional feature but bias and an initial state",
                 "activations": "activations other than σ, tanh, tanh"}
LEFT_OUT = ("load error", "skipped", "not selected")


# ---------------------------------------------------------------------------- blocks

def heading(level: int, text: str, anchor: str = "") -> tuple:
    return ("h", level, text, anchor)


def para(text: str) -> tuple:
    return ("p", text)


def table(headers: list, rows: list) -> tuple:
    return ("table", headers, rows)


def bullets(items: list) -> tuple:
    return ("ul", items)


def code(text: str) -> tuple:
    return ("pre", text)


def _md_cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list) -> str:
    out = []
    for block in blocks:
        kind = block[0]
        if kind == "h":
            out += ["#" * block[1] + " " + block[2], ""]
        elif kind == "p":
            out += [block[1], ""]
        elif kind == "table":
            headers, rows = block[1], block[2]
            out.append("| " + " | ".join(_md_cell(h) for h in headers) + " |")
            out.append("|" + "|".join("---" for _ in headers) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("")
        elif kind == "ul":
            out += [f"- {item}" for item in block[1]] + [""]
        elif kind == "pre":
            out += ["```", block[1].rstrip("\n"), "```", ""]
    return "\n".join(out)


CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1em; color: #222; }
h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #fafafa; }
td.pass { background: #c8e6c9; } td.fail { background: #ffcdd2; } td.xfail { background: #ffe0b2; }
td.unsupported { background: #eceff1; color: #555; } td.error { background: #e1bee7; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
div.wide { overflow-x: auto; }
"""
CELL_CLASSES = ("pass", "fail", "xfail", "unsupported", "error")


def _html_cell(value) -> str:
    text = str(value)
    word = text.split(" ", 1)[0]
    css = f' class="{word}"' if word in CELL_CLASSES else ""
    return f"<td{css}>{html.escape(text)}</td>"


def to_html(blocks: list, title: str) -> str:
    body = []
    for block in blocks:
        kind = block[0]
        if kind == "h":
            anchor = f' id="{html.escape(block[3])}"' if block[3] else ""
            body.append(f"<h{block[1]}{anchor}>{html.escape(block[2])}</h{block[1]}>")
        elif kind == "p":
            body.append(f"<p>{html.escape(block[1])}</p>")
        elif kind == "table":
            head = "".join(f"<th>{html.escape(str(h))}</th>" for h in block[1])
            rows = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in block[2])
            body.append(f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>')
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{html.escape(str(i))}</li>" for i in block[1]) + "</ul>")
        elif kind == "pre":
            body.append(f"<pre>{html.escape(block[1])}</pre>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n" + "\n".join(body) +
            "\n</body></html>\n")


# ---------------------------------------------------------------------------- aggregates

def implementations_run(document: dict) -> list[str]:
    survey = document.get("survey", {})
    names = [i["name"] for i in survey.get("implementations", []) if i.get("status") not in LEFT_OUT]
    return names or model.implementations(document.get("records", []))


def status_cell(counts: Counter) -> str:
    """'pass 40', 'fail 3 of 40', 'xfail 2 of 40', 'error 1 of 40', 'unsupported', or '–'; the
    counts of results unsupported and skipped follow when some ran."""
    ran = sum(counts[s] for s in (Status.PASS, Status.XPASS, Status.FAIL, Status.ERROR, Status.XFAIL))
    not_run = sum(counts[s] for s in NOT_RUN)
    if not ran:
        return "unsupported" if counts[Status.UNSUPPORTED] else ("skipped" if not_run else "–")
    failed, errors, known = counts[Status.FAIL], counts[Status.ERROR], counts[Status.XFAIL]
    if failed or errors:
        text = f"fail {failed + errors} of {ran}" if failed else f"error {errors} of {ran}"
        if failed and errors:
            text += f" ({errors} errors)"
    elif known:
        text = f"xfail {known} of {ran}"
    else:
        text = f"pass {ran}"
    if known and (failed or errors):
        text += f", {known} xfail"
    if counts[Status.XPASS]:
        text += f", {counts[Status.XPASS]} xpass"
    apart = [f"+{counts[s]} {s}" for s in (Status.UNSUPPORTED, Status.SKIPPED) if counts[s]]
    if apart:
        text += f" ({', '.join(apart)})"
    return text


def feature_counts(document: dict) -> dict:
    """(feature, impl) -> Counter of record statuses over the cases that use the feature."""
    cases = document.get("cases", {})
    cells: dict = defaultdict(Counter)
    for r in document.get("records", []):
        features = set((cases.get(r.get("case")) or {}).get("features", []))
        for feature in features or {"plain"}:
            cells[(feature, r["impl"])][r["status"]] += 1
        if features and features <= {"bias", "initial_state"}:
            cells[("plain", r["impl"])][r["status"]] += 1
    return cells


def worst_errors(records: list[dict]) -> dict:
    """(impl, dtype) -> {"max_abs", "case", "used", "used_case", "passed", "failed"}: the worst
    forward error and share of the tolerance over the passing forward results."""
    out: dict = {}
    for r in records:
        if check_of(r) != "forward" or r.get("status") in NOT_RUN:
            continue
        cell = out.setdefault((r["impl"], r["dtype"]), {"max_abs": None, "case": "", "used": None, "used_case": "",
                                                       "passed": 0, "failed": 0})
        if r["status"] not in PASSED:
            cell["failed"] += 1
            continue
        cell["passed"] += 1
        error, used = r.get("max_abs"), r.get("tolerance_used")
        if isinstance(error, (int, float)) and (cell["max_abs"] is None or error > cell["max_abs"]):
            cell.update(max_abs=float(error), case=r["case"])
        if isinstance(used, (int, float)) and (cell["used"] is None or used > cell["used"]):
            cell.update(used=float(used), used_case=r["case"])
    return out


# ---------------------------------------------------------------------------- sections

def _budgets(selection: dict) -> str:
    """The selection's budgets: --budget for every implementation, --budget-for for some."""
    budget, own = selection.get("budget"), selection.get("budgets") or {}
    if not budget and not own:
        return ""
    parts = [f"{budget:g} s per implementation" + (" but " if own else "")] if budget else []
    parts.append(", ".join(f"{s:g} s for {name}" for name, s in sorted(own.items())))
    rest = "" if budget else ", none for the others"
    return ("; a budget of " + "".join(parts) + rest +
            " (run --budget: the units not started by then are recorded as skipped)")


def _versions(entry: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted((entry.get("versions") or {}).items())) or "–"


def _seconds(value) -> str:
    return "–" if value is None else f"{value:.0f} s" if value < 600 else f"{value / 60:.1f} min"


def _when(entry: dict) -> str:
    """' from 07:40 UTC at revision abc1234': when the run started (a reused run: in an earlier
    survey) and the code that judged it."""
    started = (entry.get("run_started") or "")[11:16]
    revision = (entry.get("git_revision") or "")[:7]
    return ((f" from {started} UTC" if started else "") + (f" at {revision}" if revision else "")
            + (" (reused)" if entry.get("reused") else ""))


def header_blocks(document: dict) -> list:
    survey, env = document.get("survey", {}), document.get("environment", {})
    entries = survey.get("implementations", [])
    ran = [e for e in entries if e.get("status") not in LEFT_OUT]
    findings = survey.get("findings", [])
    work = sum((e.get("run_seconds") or 0) + ((e.get("speed") or {}).get("seconds") or 0) + (e.get("probe_seconds") or 0)
               for e in entries)
    starts = sorted(e["run_started"] for e in entries if e.get("run_started"))
    reused = [e["name"] for e in entries if e.get("reused")]
    blocks = [heading(1, "LSTM implementations survey"),
              para(f"Written {survey.get('started', '?')} (UTC) by a command that took {_seconds(survey.get('seconds'))}"
                   + (f", reusing the runs of {', '.join(reused)} made by the same command earlier" if reused else "")
                   + (f"; the runs started from {starts[0]} to {starts[-1]}" if starts else "")
                   + f"; probes, runs and timings took {_seconds(work)} in all (with -j, runs overlap). "
                   f"lstm-conformance {env.get('lstm_conformance', '?')} at {env.get('git_revision') or '?'}; "
                   f"{env.get('cpu', '?')}, {env.get('cpu_count', '?')} cores; Python {env.get('python', '?')}."),
              para(f"Implementations run: {len(ran)}; left out: {len(entries) - len(ran)}; findings: "
                   f"{len(findings)}. Regenerate with:"),
              code(survey.get("command") or "lstm-conformance survey --out DIR")]
    if survey.get("interrupted"):
        blocks.append(para("This survey was interrupted: the implementations after the interruption did not run."))
    selection = survey.get("selection", {})
    narrowed = {k: v for k, v in selection.items() if v and k in ("cases", "filters", "checks", "dtypes")}
    blocks.append(para("Selection: " + ("; ".join(f"{k} {', '.join(map(str, v))}" for k, v in narrowed.items())
                                        if narrowed else "the whole case library, every check") +
                       (f"; at most {selection['timeout']:g} s per case" if selection.get("timeout") else "") +
                       (f"; at most {selection['time_limit']:g} s per implementation"
                        if selection.get("time_limit") else "") +
                       _budgets(selection) + "."))
    rows = []
    for e in entries:
        if e.get("status") in LEFT_OUT:
            continue
        counts = Counter({k: v for k, v in (e.get("counts") or {}).items() if v})
        rows.append([e["name"], _versions(e), e.get("status", "?") + (f": {e['reason']}" if e.get("reason") else ""),
                     ", ".join(f"{counts[s]} {s}" for s in map(str, Status) if counts[s]) or "–",
                     _seconds(e.get("run_seconds")) + _when(e), _seconds((e.get("speed") or {}).get("seconds")),
                     e.get("description", "")])
    blocks += [heading(2, "Implementations", "implementations"),
               table(["implementation", "libraries", "status", "results", "run", "timing", "about"], rows)]
    return blocks


def matrix_blocks(document: dict) -> list:
    impls = implementations_run(document)
    cells = feature_counts(document)
    rows = []
    for feature in FEATURE_ROWS:
        if not any(cells.get((feature, i)) for i in impls):
            continue
        label = feature + (f" ({FEATURE_NOTES[feature]})" if feature in FEATURE_NOTES else "")
        rows.append([label] + [status_cell(cells.get((feature, i), Counter())) for i in impls])
    coverage = (document.get("coverage") or {}).get("rows", {})
    declared = []
    for impl in impls:
        missing = [f for f in FEATURES if not (coverage.get(impl, {}).get(f) or {}).get("supported", True)]
        if missing:
            declared.append(f"{impl}: declares no " + ", ".join(missing))
    checks = model.check_columns(document.get("records", []), document.get("checks"))
    by_check = model.check_cells(document.get("records", []))
    check_rows = [[c] + [status_cell(by_check.get((i, c), Counter())) for i in impls] for c in checks]
    return [heading(2, "Features", "features"),
            para("Every result (case × dtype × check) of the cases that use a feature: 'pass N' when all N that ran "
                 "passed; 'fail K of N' when K failed (errors counted with them); 'xfail K of N' when the only "
                 "failures are known findings (below); 'unsupported' when the implementation declares it cannot "
                 "run the feature; '(+M unsupported, +K skipped)': results beside those that ran that the "
                 "implementation declares it cannot run, and that were not run here (such as those a --budget "
                 "left out, the reason in results.json)."),
            table(["feature"] + impls, rows),
            para("Declared gaps (capabilities, with the adapters' reasons in results.json's coverage):"),
            bullets(declared or ["none"]),
            heading(2, "Checks", "checks"), para("The same counts per check, over every case."),
            table(["check"] + impls, check_rows)]


def error_blocks(document: dict) -> list:
    impls = implementations_run(document)
    worst = worst_errors(document.get("records", []))
    dtypes = [d for d in ("float64", "float32", "float16", "bfloat16") if any((i, d) in worst for i in impls)]
    rows = []
    for impl in impls:
        row = [impl]
        for dtype in dtypes:
            cell = worst.get((impl, dtype))
            if not cell:
                row.append("–")
            elif cell["max_abs"] is None:
                row.append(f"no forward pass ({cell['failed']} failed)")
            else:
                used = "–" if cell["used"] is None else f"{100 * cell['used']:.2g}%"
                row.append(f"{cell['max_abs']:.1e} ({cell['case']}); {used} of the tolerance ({cell['used_case']}); "
                           f"{cell['passed']} passed"
                           + (f", {cell['failed']} failed" if cell["failed"] else ""))
        rows.append(row)
    return [heading(2, "Worst errors per dtype", "errors"),
            para("Over the forward results that passed: the largest max |y − reference| and the case, then the "
                 "largest share of the tolerance used (max |error| / (atol + rtol·|expected|)) and its case."),
            table(["implementation"] + dtypes, rows)]


def speed_blocks(document: dict) -> list:
    survey = document.get("survey", {})
    setting = survey.get("speed", {})
    speed = document.get("speed", [])
    blocks = [heading(2, "Speed", "speed")]
    if setting.get("skipped"):
        return blocks + [para("Not measured (--skip-speed).")]
    what = f"benchmark set `{setting['set']}`" if setting.get("set") else "shapes " + ", ".join(setting.get("shapes", []))
    baseline = model.speed_baseline(speed)
    blocks.append(para(f"The {what}, each implementation in a process of its own with {baseline} timed round-robin "
                       f"beside it (the ratio is its median time over {baseline}'s, lower is faster), one thread per "
                       "library. Median ratio over the shapes measured, then each shape."
                       + (" Fewer rounds (--quick)." if setting.get("quick") else "")))
    measured = [s for s in speed if s.get("status") == "ok"]
    unreliable = [s for s in measured if s.get("reliable") is False]
    if unreliable:
        loads = sorted({(s.get("noise") or {}).get("load_average_1min") for s in unreliable} - {None})
        blocks.append(para(f"{len(unreliable)} of {len(measured)} rows are marked unreliable by the noise guard "
                           "(load above the cores, or a spread above 10% after re-measuring)"
                           + (f"; the 1-minute load average was {loads[0]:g} to {loads[-1]:g}" if loads else "")
                           + ": read the ratios as rough."))
    groups: dict = defaultdict(list)
    for s in speed:
        if s.get("ratio") is not None:
            groups[(s["impl"], s.get("mode", "forward"), s["dtype"])].append(s["ratio"])
    keys = sorted({(s.get("mode", "forward"), s["dtype"]) for s in speed})
    impls = [i for i in implementations_run(document) if any(s["impl"] == i for s in speed)]
    rows = []
    for impl in impls:
        row = [impl]
        for mode, dtype in keys:
            values = groups.get((impl, mode, dtype))
            reasons = {s.get("message") for s in speed if s["impl"] == impl and s["dtype"] == dtype
                       and s.get("mode", "forward") == mode and s.get("status") != "ok"}
            row.append(f"{median(values):.2f}× ({min(values):.2f}–{max(values):.2f}, {len(values)} shapes)"
                       if values else ("not measured: " + "; ".join(sorted(map(str, reasons))) if reasons else "–"))
        rows.append(row)
    blocks.append(table(["implementation"] + [f"{mode} {dtype}" for mode, dtype in keys], rows))
    for mode, dtype in keys:
        shapes = list(dict.fromkeys(s["shape"] for s in speed if s["dtype"] == dtype and s.get("mode", "forward") == mode))
        by = {(s["shape"], s["impl"]): s for s in speed if s["dtype"] == dtype and s.get("mode", "forward") == mode}
        shape_rows = []
        for shape in shapes:
            row = [shape]
            for impl in impls:
                s = by.get((shape, impl))
                if s is None or s.get("status") != "ok":
                    row.append("–")
                else:
                    row.append(f"{model.format_seconds(s.get('median'))}, {model.format_ratio(s)}"
                               + ("" if s.get("reliable", True) else " (unreliable)"))
            shape_rows.append(row)
        blocks += [heading(3, f"{mode}, {dtype}"), table(["shape"] + impls, shape_rows)]
    failed = [i for i in survey.get("implementations", []) if (i.get("speed") or {}).get("status") == "failed"]
    if failed:
        blocks.append(bullets([f"{i['name']}: timing failed: {i['speed'].get('reason', '')}" for i in failed]))
    return blocks


def finding_blocks(document: dict) -> list:
    found = document.get("survey", {}).get("findings", [])
    blocks = [heading(2, "Findings", "findings"),
              para("Each finding is an entry of the implementation's expectations file (entries sharing a finding "
                   "title are one finding): what the implementation does, what the spec says, the reproducer that "
                   "uses only the implementation's library, the upstream reference, the versions, and what it "
                   "explained in this survey.")]
    if not found:
        return blocks + [para("None: no implementation that ran has an expectations entry.")]
    for number, f in enumerate(found, 1):
        installed = ", ".join(f"{k} {v}" for k, v in sorted(f["versions"].get("installed", {}).items())) or "–"
        own = f["versions"].get("implementation")
        items = [f"Implementation: {f['implementation']}" + (f" {own}" if own else "")
                 + (f" (adapters {f['adapter']}; the first one's libraries here: {installed}); "
                    if ", " in f["adapter"] else f" (adapter {f['adapter']}); the adapter's libraries here: {installed}; ")
                 + f"the entry holds for: {f['versions'].get('range') or 'any version'}",
                 "What it does: " + " / ".join(f["does"]),
                 "What the spec says: " + (" / ".join(f["spec"]) if f["spec"] else "not stated in the entry"),
                 "Reproducer: " + ("; ".join(f"{r['test']} ({r['state']})" for r in f["reproducers"])
                                   if f["reproducers"] else "not given"),
                 "Upstream: " + (" / ".join(f["upstream"]) if f["upstream"] else "not stated"),
                 "Entries: " + "; ".join(", ".join(f"{k} {v}" for k, v in e.items()) for e in f["entries"])
                 + f" ({f['file']})",
                 f"In this survey: {f['xfail']} result{'' if f['xfail'] == 1 else 's'} failed as the entry says"
                 + (f", {f['xpass']} passed against it (the entry may be stale)" if f["xpass"] else "")
                 + (f", {f['not_run']} it names were skipped here (left out by the budget)"
                    if f.get("not_run") else "")
                 + (": " + ", ".join(f["examples"]) if f["examples"] else "")]
        if f.get("not_applied"):
            items.append(f"Not applied here: {f['not_applied']}")
        blocks += [heading(3, f"{number}. {f['implementation']}: {f['title']}"), bullets(items)]
    return blocks


def unexplained_blocks(document: dict) -> list:
    groups = model.failure_groups(document.get("records", []))
    blocks = [heading(2, "Failures no finding explains", "unexplained"),
              para("Failures, errors and unexpected passes without an expectations entry, grouped by implementation "
                   "and diagnosis: each is either a finding still to write up (with its reproducer) or a mistake of "
                   "the adapter. See each run's correctness.md (runs/NAME/) for every result.")]
    if not groups:
        return blocks + [para("None.")]
    rows = [[g.impl, g.count, g.sentence, model.where(g.example),
             model.condensed(g.example.get("message") or "", limit=300)] for g in groups]
    return blocks + [table(["implementation", "results", "group", "example", "message"], rows)]


def left_out_blocks(document: dict) -> list:
    entries = document.get("survey", {}).get("implementations", [])
    rows = [[e["name"], e["status"], e.get("reason", "")] for e in entries if e.get("status") in LEFT_OUT]
    blocks = [heading(2, "Left out", "left-out")]
    if not rows:
        blocks.append(para("Nothing: every implementation selected ran."))
    else:
        blocks += [para("Implementations selected or available that did not run, and why."),
                   table(["implementation", "status", "reason"], rows)]
    tried = document.get("survey", {}).get("tried_without_adapter", {})
    if tried:
        blocks += [para("Libraries tried that have no adapter, and why."),
                   table(["library", "why there is no adapter"], [[k, v] for k, v in sorted(tried.items())])]
    return blocks


def environment_blocks(document: dict) -> list:
    env = document.get("environment", {})
    rows = [[k, v] for k, v in env.items() if v is not None]
    return [heading(2, "Environment", "environment"),
            para("Of the survey's own process; each implementation's libraries are in the Implementations table, "
                 "and every installed package in environment.json."),
            table(["key", "value"], rows)]


def blocks(document: dict) -> list:
    return (header_blocks(document) + matrix_blocks(document) + error_blocks(document) + speed_blocks(document)
            + finding_blocks(document) + unexplained_blocks(document) + left_out_blocks(document)
            + environment_blocks(document))


def markdown(document: dict) -> str:
    return to_markdown(blocks(document))


def html_page(document: dict) -> str:
    return to_html(blocks(document), "LSTM implementations survey")
