"""What `run` and `report` do around the runner: the CI-gate and robustness options
(--junit, --expectations, --strict, --isolate, --timeout, --html), the adapters (in-process
or isolated), the expectations applied to each record as it arrives, and the report files,
written atomically with results.json first (it is the source of all the others)."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from . import environment, expectations
from ..checks import CHECKS
from .isolation import IsolatedAdapter, close_all, isolate_all
from ..report import html as html_report
from ..report import junit, results, tables
from ..report.coverage import feature_matrix as coverage_matrix  # the capability table plus the checks' columns


class SessionError(ValueError):
    """A bad option value or path; the CLI prints it as one line with exit status 2."""


@dataclass
class RunOptions:
    """The options a Session reads, as plain values: what callers that parse no command line
    (the pytest plugin, the Python API) give it in place of the CLI's argparse namespace."""
    expectations: list = field(default_factory=list)  # expectations files (paths)
    no_builtin_expectations: bool = False
    strict: bool = False
    isolate: bool = False
    timeout: Optional[float] = None  # seconds per case; implies isolate
    out: Optional[Path] = None
    junit: Optional[Path] = None
    html: Optional[Path] = None
    allow_empty: bool = False  # a run in which nothing ran passes the gate
    jobs: int = 1  # worker processes for the correctness units (run -j N)
    budget: Optional[float] = None  # seconds: no unit starts after them (time_budget.py)
    allow_incomplete: bool = False  # a run the budget cut short passes the gate when nothing failed


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def batch_sizes(text: str) -> tuple:
    if text.strip().lower() in ("", "none", "off"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected batch sizes such as 1,4,16 (or 'none'), got {text!r}") from None
    if any(b < 1 for b in sizes):
        raise argparse.ArgumentTypeError(f"batch sizes must be at least 1, got {text!r}")
    return tuple(sorted(set(sizes)))


def add_options(parser: argparse.ArgumentParser, report: bool = False) -> None:
    group = parser.add_argument_group("CI gate and robustness")
    group.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML to FILE")
    group.add_argument("--expectations", action="append", type=Path, metavar="FILE",
                       help="expectations file of one adapter: case patterns with reasons -> xfail / xpass (repeatable)")
    group.add_argument("--no-builtin-expectations", action="store_true",
                       help="do not apply the shipped expectations of built-in adapters (their known defects "
                            "then count as failures)")
    group.add_argument("--strict", action="store_true", help="exit status 1 also when an expected failure passes (xpass)")
    group.add_argument("--isolate", action="store_true",
                       help="run each adapter in a process of its own: a crash (even a segfault) is one error")
    group.add_argument("--timeout", type=positive_seconds, metavar="SECONDS",
                       help="a case taking longer is stopped and reported as an error (implies --isolate)")
    if report:
        group.add_argument("--html", type=Path, metavar="FILE", help="where to write the HTML report "
                           "(default: OUT/report.html)")
        group.add_argument("--batch-sizes", type=batch_sizes, default=(1, 4, 16), metavar="B,B,...",
                           help="when no benchmark shapes differ only in batch size, also time the first shape at "
                                "these batch sizes, for the time-against-batch plot (default 1,4,16; 'none': off)")
    else:
        group.add_argument("--html", type=Path, metavar="FILE", help="also write the HTML report to FILE")


def _check_file_target(option: str, path: Optional[Path]) -> None:
    if path is None:
        return
    if path.is_dir():
        raise SessionError(f"{option} {path}: is a folder; expected a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SessionError(f"{option} {path}: {parent} is not a folder")
            break


def check_output_paths(options: RunOptions) -> None:
    """Fail before running anything when a report could not be written at the end."""
    if options.out is not None:
        if options.out.exists() and not options.out.is_dir():
            raise SessionError(f"--out {options.out}: exists and is not a folder")
        _check_file_target("--out", options.out / "results.json")
    _check_file_target("--junit", options.junit)
    _check_file_target("--html", options.html)


class Session:
    """The adapters of a run and what judges and records their results."""

    def __init__(self, options: RunOptions, names: list[str], load):
        check_output_paths(options)
        try:
            self.expectation_sets = [expectations.load(p) for p in options.expectations or []]
        except expectations.ExpectationsError as err:
            raise SessionError(f"--expectations {err}") from None
        if not options.no_builtin_expectations:
            # Shipped entries for adapters the user gave no file for: the known defects of
            # built-in implementations show as xfail, with their evidence, not as new failures.
            covered = {e.adapter for e in self.expectation_sets}
            self.expectation_sets += [e for e in expectations.builtin(
                names) if e.adapter not in covered]
        self.strict = options.strict
        self.timeout = options.timeout
        self.isolated = bool(options.isolate or self.timeout)
        self.names = list(names)
        self._load = load
        self.adapters = isolate_all(self.names, self.timeout) if self.isolated else [load(n) for n in self.names]
        self.coverage = coverage_matrix(self.adapters)  # now: after an interrupt, workers may be gone
        running = {a.name for a in self.adapters}
        for exp in self.expectation_sets:
            if exp.adapter not in running:
                print(f"note: {exp.file} is about {exp.adapter!r}, which is not in this run "
                      f"({', '.join(sorted(running))})", file=sys.stderr)

    def judge(self, record: dict) -> dict:
        return expectations.apply_to_record(record, self.expectation_sets)

    def report_unused_expectations(self, records: list[dict], complete: bool = True, library: bool = True) -> None:
        """A note for each xfail entry that matched no result: only when the run covered what the
        entries target. `complete`: no -k, --check or --dtype filter, no interrupt, no early stop;
        `library`: the built-in case library ran (the shipped entries are about its cases)."""
        if not complete:
            return
        shipped = expectations.builtin(self.names) if not library else []
        sets = [e for e in self.expectation_sets if e.file not in {s.file for s in shipped}]
        for file, entry in expectations.unused_entries(records, sets):
            print(f"note: {file}: xfail entry {entry.pattern!r} matched no result", file=sys.stderr)

    def benchmark_adapters(self) -> list:
        """Adapters for timing, in this process: a proxy's pipe would be timed too. Those whose
        worker crashed or hung during the correctness run are left out, with a note."""
        if not self.isolated:
            return list(self.adapters)
        chosen = []
        for spec, adapter in zip(self.names, self.adapters):
            if isinstance(adapter, IsolatedAdapter) and adapter.crashed:
                print(f"note: {adapter.name} is not benchmarked: its worker crashed or hung in the correctness "
                      "run", file=sys.stderr)
                continue
            chosen.append(self._load(spec))
        return chosen

    def settings(self) -> dict:
        return {"expectations": [e.file for e in self.expectation_sets], "strict": self.strict,
                "isolate": self.isolated, "timeout": self.timeout}

    def close(self) -> None:
        close_all(self.adapters)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def build_document(records, speed, settings, coverage=None) -> dict:
    document = results.build(records, environment.collect(), speed, settings)
    document["checks"] = list(CHECKS)  # the catalogue's order: the tables' column order
    if coverage is not None:
        document["coverage"] = coverage
    return document


def write_reports(document: dict, out: Optional[Path], junit_path: Optional[Path] = None,
                  html_path: Optional[Path] = None, strict: bool = False, allow_empty: bool = False) -> list[Path]:
    """results.json (first), correctness.md, speed.md, report.html, JUnit XML: each atomically.
    Returns the paths written. `allow_empty`: a run without results is a skip in JUnit, not a failure."""
    written = []
    records, speed, env = document["records"], document.get("speed", []), document.get("environment", {})
    if out is not None:
        results.write(out / "results.json", document)
        results.atomic_write_text(out / "correctness.md", tables.correctness_markdown(records, document.get("checks")))
        written += [out / "results.json", out / "correctness.md"]
        if speed:
            results.atomic_write_text(out / "speed.md", tables.speed_markdown(speed, env))
            written.append(out / "speed.md")
    if html_path is not None:
        html_report.write(html_path, document)
        written.append(html_path)
    if junit_path is not None:
        junit.write(junit_path, records, env, strict, allow_empty)
        written.append(junit_path)
    return written
