"""JUnit XML from result records, for CI systems that display test reports.

One <testsuite> per implementation, one <testcase> per case × dtype × check. fail becomes
<failure>, error <error>; unsupported, skipped and xfail become <skipped> with the reason;
xpass is a pass, or a <failure> under --strict.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter

from .results import NOT_RUN, PASSED, Status, atomic_write_text, check_of
from .summary import something_ran

# Characters XML 1.0 forbids: adapters' messages may contain anything.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text) -> str:
    return _ILLEGAL_XML.sub("?", str(text if text is not None else ""))


def case_name(record: dict) -> str:
    name = f"{record.get('case', '?')}[{record.get('dtype', '?')}]"
    check = check_of(record)
    return name if check == "forward" else f"{name}::{check}"


def _details(record: dict) -> str:
    """The body of a failure: the message, then per-output metrics and any diagnosis."""
    lines = [record.get("message", "")]
    for out in record.get("outputs", []):
        if not out.get("passed", True):
            worst = out.get("worst", {})
            lines.append(f"{out.get('output')}: max_abs={out.get('max_abs')} max_rel={out.get('max_rel')} "
                         f"max_ulp={out.get('max_ulp')} worst={worst}")
    for lit in record.get("literals", []):
        if lit.get("passed") is False:
            lines.append(f"literal {lit.get('output')} ({lit.get('rule')}): {lit.get('message', '')}")
    summary = (record.get("diagnosis") or {}).get("summary")
    if summary:
        lines.append(f"diagnosis: {summary}")
    if record.get("traceback"):
        lines.append(record["traceback"])
    return _clean("\n".join(line for line in lines if line))


MAX_MESSAGE = 500  # characters of a failure's message attribute


def _first_line(text: str) -> str:
    """The first line, its tail cut to MAX_MESSAGE characters (the head says the most)."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return _clean(line if len(line) <= MAX_MESSAGE else line[:MAX_MESSAGE - 4] + " ...")


DIAGNOSIS_SUFFIX = " — diagnosis: "  # how the checks append the diagnosis to a record's message


def failure_message(record: dict) -> str:
    """The message attribute of a failure: the diagnosis first (it is what a reader needs and
    it would be lost if a long list of deviations went before it), then where it deviates."""
    message = record.get("message", "")
    summary = (record.get("diagnosis") or {}).get("summary")
    if not summary:
        return _first_line(message)
    deviations = message.split(DIAGNOSIS_SUFFIX)[0]
    return _first_line(f"diagnosis: {summary}; {deviations}")


def _verdict(record: dict, strict: bool) -> str:
    """junit outcome of a record: passed, failure, error or skipped."""
    status = record.get("status")
    if status == Status.FAIL or (status == Status.XPASS and strict):
        return "failure"
    if status == Status.ERROR:
        return "error"
    if status in NOT_RUN or status == Status.XFAIL:
        return "skipped"
    if status in PASSED:
        return "passed"
    return "error"  # a status this writer does not know: make it visible, not green


def testcase(record: dict, strict: bool = False) -> ET.Element:
    impl, group = record.get("impl", "?"), record.get("group", "") or "cases"
    element = ET.Element("testcase", classname=_clean(f"lstm_conformance.{impl}.{group}"),
                         name=_clean(case_name(record)), time=f"{float(record.get('seconds') or 0.0):.6f}")
    verdict = _verdict(record, strict)
    status = record.get("status")
    if verdict == "failure":
        child = ET.SubElement(element, "failure", message=failure_message(record), type=str(status))
        child.text = _details(record)
    elif verdict == "error":
        child = ET.SubElement(element, "error", message=_first_line(record.get("message", "")) or f"status {status!r}",
                              type=str(status))
        child.text = _details(record)
    elif verdict == "skipped":
        ET.SubElement(element, "skipped", message=_first_line(f"{status}: {record.get('message', '')}"))
    return element


def _nothing_ran(allow_empty: bool) -> dict:
    return {"impl": "lstm-conformance", "case": "no-results", "dtype": "-", "check": "selection",
            "status": Status.SKIPPED if allow_empty else Status.FAIL,
            "message": "no case ran: every result is unsupported or skipped, or the selection (implementations, "
                       "-k, --dtype, --check) gave none" + (" (--allow-empty)" if allow_empty else "")}


def to_xml(records: list[dict], environment: dict | None = None, strict: bool = False,
           name: str = "lstm-conformance", allow_empty: bool = False) -> str:
    root = ET.Element("testsuites", name=name)
    totals = Counter()
    if not something_ran(records):  # never zero tests silently: one more test says that nothing ran
        records = list(records) + [_nothing_ran(allow_empty)]
    for impl in dict.fromkeys(r.get("impl", "?") for r in records):
        own = [r for r in records if r.get("impl", "?") == impl]
        counts = Counter(_verdict(r, strict) for r in own)
        seconds = sum(float(r.get("seconds") or 0.0) for r in own)
        suite = ET.SubElement(root, "testsuite", name=_clean(impl), tests=str(len(own)),
                              failures=str(counts["failure"]), errors=str(counts["error"]),
                              skipped=str(counts["skipped"]), time=f"{seconds:.6f}")
        if environment:
            props = ET.SubElement(suite, "properties")
            for key, value in environment.items():
                if value is not None:
                    ET.SubElement(props, "property", name=_clean(key), value=_clean(value))
        for record in own:
            suite.append(testcase(record, strict))
        totals.update(counts)
        totals["tests"] += len(own)
        totals["seconds"] += seconds
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failure"]))
    root.set("errors", str(totals["error"]))
    root.set("skipped", str(totals["skipped"]))
    root.set("time", f"{totals['seconds']:.6f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(path, records: list[dict], environment: dict | None = None, strict: bool = False,
          allow_empty: bool = False) -> None:
    atomic_write_text(path, to_xml(records, environment, strict, allow_empty=allow_empty))
