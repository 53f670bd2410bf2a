"""What a person reads after a run, computed from the records (the CLI only prints it).

Totals per implementation; failures grouped by implementation and diagnosis (the first known
defect that reproduces the outputs) or, without one, by check, and errors by exception;
unexpected passes by expectations entry; expected failures, unsupported and skipped records
by reason. Every group has its
count and one example, so 9,000 records read as a dozen lines.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .results import RAN, STATUS_ORDER, Status, check_of

MAX_GROUPS = 8  # per section; the rest is counted in one line
MAX_EXAMPLE = 200  # characters of an example's message


@dataclass
class Group:
    impl: str
    label: str
    records: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def example(self) -> dict:
        """The first forward-check record (the most direct evidence), else the first record."""
        return next((r for r in self.records if check_of(r) == "forward"), self.records[0])

    @property
    def sentence(self) -> str:
        """What the group's records have in common, as a sentence (for the reports)."""
        return problem_sentence(self.example)


@dataclass
class Section:
    title: str
    groups: list  # of Group, largest first
    examples: bool = False  # show one record of each group (failures: where and what)

    @property
    def count(self) -> int:
        return sum(g.count for g in self.groups)




def something_ran(records) -> bool:
    """Whether any case ran: a gate whose selection ran nothing must not pass."""
    return any(r.get("status") in RAN for r in records)


def totals(records) -> str:
    """'16 pass, 2 fail, 16 unsupported' (statuses in a fixed order; none: 'no results')."""
    counts = Counter(r.get("status") for r in records)
    return ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s]) or "no results"


def totals_by_impl(records) -> dict:
    """{impl: totals line}, implementations in the order they first appear."""
    own: dict = {}
    for record in records:
        own.setdefault(record.get("impl", "?"), []).append(record)
    return {impl: totals(rs) for impl, rs in own.items()}


def _exception_name(message: str) -> str:
    match = re.match(r"([A-Za-z_][\w.]*(Error|Exception|Crashed|Timeout|Exit|Interrupt)\w*)\b", message or "")
    return match.group(1) if match else ""


def problem_label(record: dict) -> str:
    """What a failing, erroring or unexpectedly passing record has in common with others like it."""
    status, check = record.get("status"), check_of(record)
    if status == Status.XPASS:
        entry = record.get("expected_failure") or {}
        return f"xfail entry {entry.get('pattern', '?')!r} of {entry.get('file', '?')}"
    patterns = (record.get("diagnosis") or {}).get("patterns") or []
    if status == Status.FAIL and patterns:
        return f"diagnosis: {patterns[0]}"
    if status == Status.FAIL and accepted_invalid_inputs(record):
        return "accepts invalid input: " + "; ".join(accepted_invalid_inputs(record))
    if status == Status.ERROR:
        name = _exception_name(record.get("message", ""))
        return f"error: {name}" if name else f"error in the {check} check"
    return f"{check} check failed (no known defect pattern)"


def accepted_invalid_inputs(record: dict) -> list[str]:
    """The kinds of derived invalid input an errors record's implementation returned outputs
    for (the same kind in every case, so that one behaviour is one finding)."""
    return [entry.get("kind", entry.get("input", "?")) for entry in record.get("invalid_inputs", [])
            if not entry.get("raised") and not entry.get("accepted")]


def _shown_file(path) -> str:
    """An expectations file as a reader can find it: a shipped one by its place in the package
    (implementations/expectations/NAME.yaml), not this machine's absolute path."""
    if not path:
        return "?"
    text = str(path).replace("\\", "/")
    marker = "/implementations/expectations/"
    return text[text.index(marker) + 1:] if marker in text else text


def problem_sentence(record: dict) -> str:
    """problem_label's group said as a sentence: the diagnosis where there is one."""
    status, check = record.get("status"), check_of(record)
    if status == Status.XPASS:
        entry = record.get("expected_failure") or {}
        return (f"Passed, although the xfail entry {entry.get('pattern', '?')!r} of {_shown_file(entry.get('file'))} "
                "expects a failure: the entry may be stale.")
    diagnosis = record.get("diagnosis") or {}
    if status == Status.FAIL and diagnosis.get("patterns"):
        return f"The {check} check failed; a known defect reproduces it: {' or '.join(diagnosis['patterns'])}."
    if status == Status.ERROR:
        name = _exception_name(record.get("message", ""))
        return f"The adapter raised {name} in the {check} check." if name else \
            f"The {check} check ended in an error."
    return f"The {check} check failed; no known defect pattern reproduces it."


def reason_label(record: dict) -> str:
    if record.get("status") == Status.XFAIL:
        return (record.get("expected_failure") or {}).get("reason") or record.get("message", "")
    return record.get("message") or "(no reason given)"


def _groups(records, label) -> list:
    groups: dict = {}
    for record in records:
        key = (record.get("impl", "?"), label(record))
        groups.setdefault(key, Group(*key)).records.append(record)
    return sorted(groups.values(), key=lambda g: (-g.count, g.impl, g.label))


def problem_groups(records) -> list:
    """Failing, erroring or unexpectedly passing records grouped by implementation and
    problem_label (the diagnosis where there is one), largest group first. A failure that
    several known defects reproduce joins the group of the one that reproduces the most
    failures of its implementation (the first listed on a tie): one defect, one group."""
    records = list(records)

    def named(record) -> list:
        return ((record.get("diagnosis") or {}).get("patterns") or []) if record.get("status") == Status.FAIL else []

    counts = Counter((r.get("impl", "?"), p) for r in records for p in named(r))

    def label(record) -> str:
        patterns = named(record)
        if len(patterns) > 1:
            return "diagnosis: " + max(patterns, key=lambda p: counts[(record.get("impl", "?"), p)])
        return problem_label(record)
    return _groups(records, label)


def summarize(records) -> list:
    """The sections that have records: problems, expected failures, unsupported, skipped."""
    records = list(records)

    def having(*statuses):
        return [r for r in records if r.get("status") in statuses]

    sections = [Section("failures (by implementation and diagnosis)", problem_groups(having(Status.FAIL, Status.ERROR)),
                        examples=True),
                Section("unexpected passes (xpass: the entry may be stale)", _groups(having(Status.XPASS), problem_label)),
                Section("expected failures (xfail, by reason)", _groups(having(Status.XFAIL), reason_label)),
                Section("unsupported (by reason)", _groups(having(Status.UNSUPPORTED), reason_label)),
                Section("skipped (by reason)", _groups(having(Status.SKIPPED), reason_label))]
    return [s for s in sections if s.groups]


def where(record: dict) -> str:
    """'toy-memory-tanh [float64] forward'."""
    return f"{record.get('case')} [{record.get('dtype')}] {record.get('check', 'forward')}"


# A line of a native stack trace (C++, Rust, Java, Python), not the message itself.
_FRAME = re.compile(r"^(at\s|#\d+\s|\d+:\s|File \"|Traceback|stack backtrace|note: |frame #|\.\.\.|[-=]{3,}|"
                    r"Exception raised from |\[.*\] \S+\.(cc|cpp|rs|h):\d+)")
FULL_TEXT_NOTE = " (full text in results.json)"


def condensed(message: str, limit: int = MAX_EXAMPLE) -> str:
    """One line for a message. The suite's own messages give their first located deviation; a
    multi-line native error (chained C++ exceptions, a Rust backtrace, where the meaningful line
    is the last) gives its last line that is not a stack frame, after the exception's type, and
    says where the full text is."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if len(lines) <= 1:
        text = " ".join((message or "").split())
        first = re.split(r"(?<=\)); ", text)[0]  # the first located deviation
        return first if len(first) <= limit else first[:limit - 3] + "..."
    meaningful = [line for line in lines if not _FRAME.match(line)] or lines
    line, kind = meaningful[-1], _exception_name(lines[0])
    if kind and not line.startswith(kind):
        line = f"{kind}: {line}"
    room = limit - len(FULL_TEXT_NOTE)
    return (line if len(line) <= room else line[:room - 3] + "...") + FULL_TEXT_NOTE



def render(records) -> list[str]:
    """The summary's lines: totals per implementation, then each section's groups."""
    records = list(records)
    lines = [f"{impl}: {line}" for impl, line in totals_by_impl(records).items()]
    for section in summarize(records):
        lines.append(f"{section.title}: {section.count}")
        for group in section.groups[:MAX_GROUPS]:
            lines.append(f"  {group.count:>5}  {group.impl}: {condensed(group.label)}")
            if section.examples:
                lines.append(f"         e.g. {where(group.example)}: {condensed(group.example.get('message', ''))}")
        rest = section.groups[MAX_GROUPS:]
        if rest:
            lines.append(f"  ... and {len(rest)} more groups ({sum(g.count for g in rest)} records)")
    return lines
