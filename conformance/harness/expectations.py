"""Expectations files: the known failures of one implementation, as case-id patterns with reasons.

Modelled on array-api-tests' xfails file, with a reason required on every entry, because
"expected to fail" without the evidence is how real defects get buried. Format (YAML):

    adapter: torch-lstm                 # the adapter these entries apply to (by its name)
    implementation: torch               # or: the implementation they describe, whatever adapter
    versions: ">=2.1, <2.14"            # optional: the versions of it they hold for
    xfail:
      - case: "peepholes*"              # glob over case ids; without wildcards: the id itself,
        reason: "spec §4 ...; upstream issue #123"   # or a prefix ending at '/' (matrix variants)
        dtype: float32                  # optional: only this dtype
        check: forward                  # optional: only this check
        message: "T = 0"                # optional: only failures whose message contains this
                                        # (such an entry never makes an xpass)
        # optional evidence of a finding, shown by `lstm-conformance survey` (none changes matching):
        finding: "clip not applied to ψ's input"  # a short title; entries with the same title are
                                        # one finding (else entries with the same reason are)
        spec: "ONNX LSTM: clip ... is applied to the input of activations"  # the normative text
        reproducer: tests/survey/test_x_findings.py::test_clip   # a test that uses only the library
        upstream: "https://github.com/o/r/issues/1"   # the upstream issue, or "none found"

`apply` is a pure function run on the records after the run (the runner knows nothing of
it): a record that matches an entry and failed or errored becomes `xfail`; one that passed
becomes `xpass` (the bug was fixed, or the entry is stale). Other statuses are unchanged.

Which adapter a file applies to: `adapter` when given, else the one named like its
`implementation`. Any other adapter takes it with `--expectations FILE@ADAPTER` (or
`--expectations FILE --expectations-for ADAPTER`): a user's own onnxruntime adapter then
reports onnxruntime's known behaviour as xfail, not as new failures. FILE may be
`builtin:NAME`, the shipped file of adapter NAME, else the one shipped file of implementation
NAME (when several are, an adapter name must choose). With `versions` (PEP 440
comparisons joined by commas: `>=1.17`, `==1.32.*`, `>=2.1, <2.14`) and a Python distribution
named like the implementation installed, a file whose range excludes the installed version is
not applied, with a note: its entries describe other versions.
"""
from __future__ import annotations

import copy
import dataclasses
import fnmatch
import re
import sys
from importlib import metadata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import yaml

from ..report.results import FAILED, Status, check_of, gate_failing

MATCH_KEYS = {"case", "reason", "dtype", "check", "message"}
# Evidence of a finding (the survey report shows it); matching ignores these.
EVIDENCE_KEYS = ("finding", "spec", "reproducer", "upstream")
ENTRY_KEYS = MATCH_KEYS | set(EVIDENCE_KEYS)
FILE_KEYS = ("adapter", "implementation", "versions", "xfail", "about")
BUILTIN_PREFIX = "builtin:"


class ExpectationsError(ValueError):
    """An expectations file is unreadable or malformed; str() names the file, entry and key."""

    def __init__(self, file, message: str, entry: Optional[int] = None, key: str = ""):
        where = [str(file)]
        if entry is not None:
            where.append(f"xfail[{entry}]" + (f".{key}" if key else ""))
        elif key:
            where.append(f"key {key!r}")
        super().__init__(f"{': '.join(where)}: {message}")


@dataclass(frozen=True)
class Entry:
    pattern: str
    reason: str
    dtype: Optional[str] = None
    check: Optional[str] = None
    message: Optional[str] = None  # text the result's message must contain
    # evidence (EVIDENCE_KEYS): a title, the normative text, a library-only test, an upstream issue
    finding: Optional[str] = None
    spec: Optional[str] = None
    reproducer: Optional[str] = None
    upstream: Optional[str] = None

    def matches(self, record: dict) -> bool:
        if self.dtype is not None and record.get("dtype") != self.dtype:
            return False
        if self.message is not None and self.message not in record.get("message", ""):
            return False  # so a message-bound entry never turns a pass into an xpass
        if self.check is not None and check_of(record) != self.check:
            return False
        return case_matches(record.get("case", ""), self.pattern)


@dataclass
class Expectations:
    """The entries of one file, all about one adapter (`adapter`: the name they apply to)."""

    adapter: str
    file: str
    entries: list = field(default_factory=list)
    implementation: Optional[str] = None  # the implementation the entries describe, when stated
    versions: Optional[str] = None  # the versions of it they hold for (a PEP 440 specifier set)

    def entry_for(self, record: dict) -> Optional[Entry]:
        if record.get("impl") != self.adapter:
            return None
        return next((e for e in self.entries if e.matches(record)), None)


def case_matches(case_id: str, pattern: str) -> bool:
    """Glob when the pattern has wildcards; otherwise the exact id or an id prefix that ends
    at a '/' (so 'single-bias' covers 'single-bias/ih-only' but not 'single-bias-2')."""
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(case_id, pattern)
    return case_id == pattern or case_id.startswith(pattern.rstrip("/") + "/")


def _text(value, file, index, key, required) -> Optional[str]:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ExpectationsError(file, f"expected a non-empty string, got {value!r}", index, key)
    return value.strip()


def parse(document, file="<string>") -> Expectations:
    if not isinstance(document, dict):
        raise ExpectationsError(file, f"expected a mapping with 'adapter' and 'xfail', got {type(document).__name__}")
    unknown = set(document) - set(FILE_KEYS)
    if unknown:
        raise ExpectationsError(file, f"unknown keys {sorted(map(str, unknown))}; expected {', '.join(FILE_KEYS)}")
    implementation = _text(document.get("implementation"), file, None, "implementation", False)
    versions = _text(document.get("versions"), file, None, "versions", False)
    if versions is not None:
        if implementation is None:
            raise ExpectationsError(file, "versions of what? give 'implementation' with 'versions'", key="versions")
        try:
            version_matches("0", versions)
        except ValueError as err:
            raise ExpectationsError(file, str(err), key="versions") from None
    adapter = document.get("adapter", implementation)
    if not isinstance(adapter, str) or not adapter.strip():
        raise ExpectationsError(file, "expected the adapter name these entries are about, e.g. 'adapter: torch-lstm', "
                                      "or the implementation they describe, e.g. 'implementation: onnxruntime'",
                                key="adapter")
    raw_entries = document.get("xfail") or []
    if not isinstance(raw_entries, list):
        raise ExpectationsError(file, f"expected a list of entries, got {type(raw_entries).__name__}", key="xfail")
    entries = []
    for index, raw in enumerate(raw_entries):
        if not isinstance(raw, dict):
            raise ExpectationsError(file, f"expected a mapping with case and reason, got {raw!r}", index)
        extra = set(raw) - ENTRY_KEYS
        if extra:
            raise ExpectationsError(file, f"unknown keys {sorted(map(str, extra))}; expected {', '.join(sorted(ENTRY_KEYS))}",
                                    index)
        entries.append(Entry(pattern=_text(raw.get("case"), file, index, "case", True),
                             reason=_text(raw.get("reason"), file, index, "reason", True),
                             dtype=_text(raw.get("dtype"), file, index, "dtype", False),
                             check=_text(raw.get("check"), file, index, "check", False),
                             message=_text(raw.get("message"), file, index, "message", False),
                             **{key: _text(raw.get(key), file, index, key, False) for key in EVIDENCE_KEYS}))
    return Expectations(adapter=adapter.strip(), file=str(file), entries=entries, implementation=implementation,
                        versions=versions)


def load(path) -> Expectations:
    """The expectations of `path`: a file, `builtin:NAME` (a shipped file), either followed by
    `@ADAPTER` to apply it to that adapter. A file whose `versions` exclude the installed
    version of its implementation comes back without entries, and a note says so."""
    text, adapter = str(path), None
    if "@" in text and not Path(text).exists():
        text, adapter = text.rsplit("@", 1)
    expectations = _read(shipped(text[len(BUILTIN_PREFIX):]) if text.startswith(BUILTIN_PREFIX) else Path(text))
    if adapter:
        expectations = for_adapter(expectations, adapter)
    note = version_note(expectations)
    if note:
        print(f"note: {note}", file=sys.stderr)
        expectations = dataclasses.replace(expectations, entries=[])
    return expectations


def _read(path: Path) -> Expectations:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ExpectationsError(path, f"cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise ExpectationsError(path, "not UTF-8 text") from None
    # The shipped files are parsed with libyaml's safe loader where PyYAML has it (the same
    # documents, a test compares them, several times faster: runs read them all to find one);
    # any other file with the pure-Python safe loader.
    shipped_file = path.resolve().parent == _shipped_folder()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if shipped_file else yaml.SafeLoader
    try:
        document = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ExpectationsError(path, f"not valid YAML{where}: {getattr(err, 'problem', None) or err}") from None
    return parse(document, path)


def _shipped_folder() -> Path:
    from importlib import resources

    return Path(str(resources.files("lstm_conformance.implementations") / "expectations")).resolve()


def _shipped_files() -> list[Path]:
    return sorted(p for p in _shipped_folder().iterdir() if p.suffix == ".yaml")


def shipped(name: str) -> Path:
    """The shipped expectations file of adapter `name`, else the one file of implementation `name`
    (several files may describe one implementation: keras for each Keras adapter; then an
    adapter name must choose, and the error lists them)."""
    files = [(path, _read(path)) for path in _shipped_files()]
    for candidates in ([p for p, e in files if e.adapter == name], [p for p, e in files if e.implementation == name]):
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            choices = ", ".join(f"{BUILTIN_PREFIX}{e.adapter} ({p.name})" for p, e in files if p in candidates)
            raise ExpectationsError(f"{BUILTIN_PREFIX}{name}", f"{len(candidates)} shipped files are about {name}, "
                                    f"none is the file of adapter {name}; name one by its adapter: {choices}")
    known = sorted({e.adapter for _, e in files} | {e.implementation for _, e in files if e.implementation})
    raise ExpectationsError(f"{BUILTIN_PREFIX}{name}", f"no shipped expectations file; known: {', '.join(known)}")


def builtin(adapter_names: Iterable[str]) -> list[Expectations]:
    """The shipped expectations (implementations/expectations/*.yaml) of the adapters named:
    known, documented defects of the built-in implementations, each with its evidence."""
    wanted = set(adapter_names)
    return [load(p) for p in _shipped_files() if _read(p).adapter in wanted]


_CLAUSE = re.compile(r"^\s*(==|!=|>=|<=|>|<|~=)\s*([0-9][0-9A-Za-z.*+!-]*)\s*$")


def _release(version: str) -> tuple:
    """The release numbers of a version: '2.13.0+cpu' -> (2, 13, 0); '1.17rc1' -> (1, 17)."""
    numbers = []
    for part in version.split("+")[0].split("."):
        digits = re.match(r"\d+", part)
        if not digits:
            break
        numbers.append(int(digits.group()))
        if digits.group() != part:
            break
    return tuple(numbers)


def _compare(version: tuple, other: tuple) -> int:
    width = max(len(version), len(other))
    a, b = version + (0,) * (width - len(version)), other + (0,) * (width - len(other))
    return (a > b) - (a < b)


def version_matches(version: str, specifier: str) -> bool:
    """Whether `version` satisfies every comma-separated clause of `specifier` (the PEP 440
    comparisons on release numbers; `==X.Y.*` matches a prefix). ValueError for a bad clause."""
    ok, release = True, _release(version)
    for clause in specifier.split(","):
        match = _CLAUSE.match(clause)
        if not match:
            raise ValueError(f"cannot read the version clause {clause.strip()!r}; expected e.g. '>=1.17' or '==1.32.*'")
        op, text = match.groups()
        if text.endswith(".*"):
            prefix = _release(text[:-2])
            same = release[:len(prefix)] == prefix
            ok &= same if op == "==" else not same if op == "!=" else _fail(clause)
            continue
        other, sign = _release(text), _compare(release, _release(text))
        ok &= {"==": sign == 0, "!=": sign != 0, ">=": sign >= 0, "<=": sign <= 0, ">": sign > 0, "<": sign < 0,
               "~=": sign >= 0 and release[:max(len(other) - 1, 1)] == other[:max(len(other) - 1, 1)]}[op]
    return ok


def _fail(clause: str) -> bool:
    raise ValueError(f"a wildcard works with == and != only, not {clause.strip()!r}")


def installed_version(implementation: str) -> Optional[str]:
    try:
        return metadata.version(implementation)
    except metadata.PackageNotFoundError:
        return None


def version_note(expectations: Expectations) -> Optional[str]:
    """Why a file does not apply here (its versions exclude the installed one), or None."""
    if not expectations.versions:
        return None
    installed = installed_version(expectations.implementation)
    if installed is None or version_matches(installed, expectations.versions):
        return None
    return (f"{expectations.file} describes {expectations.implementation} {expectations.versions}; "
            f"{installed} is installed, so its entries are not applied")


def for_adapter(expectations: Expectations, adapter: str) -> Expectations:
    """The same entries, applied to the adapter named `adapter` instead of the one the file names."""
    return dataclasses.replace(expectations, adapter=adapter)


def apply_to_record(record: dict, expectation_sets: Iterable[Expectations]) -> dict:
    """The record as the expectations see it (a copy when changed; the input is not modified)."""
    for expectations in expectation_sets:
        entry = expectations.entry_for(record)
        if entry is None:
            continue
        status = record.get("status")
        if status not in FAILED and status != Status.PASS:
            return record  # unsupported, skipped: nothing ran, so nothing was expected
        out = copy.deepcopy(record)
        out["expected_failure"] = {"reason": entry.reason, "pattern": entry.pattern, "file": expectations.file,
                                   "status": status}
        if status == Status.PASS:
            out["status"] = Status.XPASS
            out["message"] = f"passed, but expected to fail ({entry.pattern}: {entry.reason})"
        else:
            out["status"] = Status.XFAIL
            out["message"] = f"expected {status} ({entry.reason}): {record.get('message', '')}"
        return out
    return record


def apply(records: Iterable[dict], expectation_sets: Iterable[Expectations]) -> list[dict]:
    sets = list(expectation_sets)
    return [apply_to_record(r, sets) for r in records]


def unused_entries(records: Iterable[dict], expectation_sets: Iterable[Expectations]) -> list[tuple]:
    """(file, entry) pairs that matched no record of their adapter: stale or mistyped patterns."""
    records = list(records)
    unused = []
    for expectations in expectation_sets:
        own = [r for r in records if r.get("impl") == expectations.adapter]
        for entry in expectations.entries:
            if not any(entry.matches(r) for r in own):
                unused.append((expectations.file, entry))
    return unused


def gate_status(records: Iterable[dict], strict: bool = False) -> int:
    """1 when a case failed or errored (or, with strict, passed against an xfail entry), else 0."""
    bad = gate_failing(strict)
    return 1 if any(r.get("status") in bad for r in records) else 0
