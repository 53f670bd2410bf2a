"""The `lstm-conformance` command: list, run, bench, report, validate, compare, mutants.

Exit status: 0 success; 1 a case failed or errored, or an expected failure passed under
--strict (or a spec file is invalid, for validate; or a regression, for compare; or a mutant
survived or the correct control failed, for mutants; or --budget left units out, unless
--allow-incomplete); 2 a usage
error (unknown implementation, bad path, bad option), printed as one line; 130 / 143 the run
was interrupted by Ctrl-C / SIGTERM (the results so far are written).
"""
from __future__ import annotations

import argparse
import gc
import shlex
import sys
from pathlib import Path

from . import __version__, bench
from .checks import CHECKS, select_checks
from .harness import environment
from .harness import session as sessions
from .harness import survey
from .harness import profiles, shards, usecases
from .harness.interrupts import interruptible
from .harness.progress import Progress
from .harness.registry import AdapterLoadError, available_names, load_adapter
from .report import results, summary, tables
from .report.results import Status, check_of
from .spec.loader import SpecError, load_cases, load_file, select
from .spec.budget import parse_size, set_max_case_memory
from .spec.model import DTYPES

DEFAULT_IMPLS = ("numpy", "torch-cell", "torch-lstm", "cuda")


class UsageError(Exception):
    """A bad argument: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (not usage + error), still exit status 2."""

    def error(self, message):
        self.exit(2, f"lstm-conformance: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lstm-conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="what to do (`lstm-conformance COMMAND --help` for its options)")

    def add_selection(p):
        p.add_argument("--impl", action="append", metavar="NAME|file.py:Class|module:Class",
                       help=f"implementation under test (repeatable; default: {', '.join(DEFAULT_IMPLS)})")
        p.add_argument("--cases", action="append", metavar="FILE", help="spec case file (repeatable; default: built-in library)")
        p.add_argument("-k", "--filter", action="append", metavar="PATTERN",
                       help="only cases whose id contains PATTERN or matches it as a glob, or whose group is PATTERN")
        p.add_argument("--dtype", action="append", help="only these dtypes (repeatable)")
        p.add_argument("--check", action="append", metavar="NAME",
                       help="only these checks (repeatable; default: all; see `list checks`)")
        p.add_argument("--allow-empty", action="store_true",
                       help="exit status 0 even when no case ran (every result unsupported or skipped, or none)")
        p.add_argument("--profile", choices=profiles.PROFILES, default="full",
                       help="full: every case with every check (default); quick: cases within "
                            f"{profiles.QUICK_BOUNDS['seq_len']} steps, width {profiles.QUICK_BOUNDS['width']}, "
                            f"{profiles.QUICK_BOUNDS['batch']} rows and {profiles.QUICK_BOUNDS['layers']} layers "
                            "(plus the cheapest larger case for a feature no such case has), forward on each, every "
                            "other check on a subset reaching every feature, in one dtype (float64 where declared); "
                            "what it leaves out is recorded as skipped, saying so")

    def add_output(p):
        group = p.add_argument_group("output")
        level = group.add_mutually_exclusive_group()
        level.add_argument("-v", "--verbose", action="store_true",
                           help="also print one line per result (status, implementation, case, dtype, check, message)")
        level.add_argument("-q", "--quiet", action="store_true", help="print only the final totals line")
        group.add_argument("--maxfail", type=_positive_int, metavar="N",
                           help="stop after N failed or erroring results (those computed are kept and written)")
        group.add_argument("-x", "--exitfirst", action="store_const", const=1, dest="maxfail",
                           help="stop at the first failed or erroring result (--maxfail 1)")
        group.add_argument("-j", "--jobs", type=_positive_int, default=1, metavar="N",
                           help="run the cases in N worker processes (default 1); the results equal a serial "
                                "run's, and a worker that crashes costs only its case")
        group.add_argument("--budget", type=sessions.positive_seconds, metavar="SECONDS",
                           help="a time budget for a slow implementation: units run in an order that reaches every "
                                "feature, check and dtype first, then cheapest first; once SECONDS have passed no "
                                "new unit starts, and the units left are recorded as skipped ('not run (--budget)'); "
                                "exit status 1 then, unless --allow-incomplete (with -j, units running are "
                                "stopped too)")
        group.add_argument("--allow-incomplete", action="store_true",
                           help="exit status 0 when --budget left units out and nothing that ran failed")

    def add_bench(p):
        p.add_argument("--set", default="ci", help="benchmark set from spec/benchmarks.yaml (default: ci)")
        p.add_argument("--shapes", action="append", metavar="DESC", help="shape descriptors such as t100b32i256h256 (replace --set)")
        p.add_argument("--quick", action="store_true", help="fewer rounds (for smoke tests)")
        p.add_argument("--threads", type=_positive_int, default=bench.DEFAULT_THREADS, metavar="N",
                       help="threads per library while timing: torch, OpenBLAS, MKL and OpenMP alike (default "
                            f"{bench.DEFAULT_THREADS}; recorded with the results)")

    def add_memory(p):
        p.add_argument("--max-case-memory", type=_size, metavar="SIZE",
                       help="refuse a case whose estimated memory exceeds SIZE, such as 2GiB or 512MiB (default: a "
                            "quarter of this machine's memory); an --isolate worker may use SIZE + 2 GiB")

    p_list = sub.add_parser("list", help="list spec cases, implementations or checks")
    p_list.add_argument("what", choices=["cases", "impls", "checks"], nargs="?", default="cases",
                        help="what to list: the spec cases (default), the implementations, or the checks")
    p_list.add_argument("--cases", action="append", metavar="FILE",
                        help="spec case file to list (repeatable; default: built-in library)")
    p_list.add_argument("-k", "--filter", action="append", metavar="PATTERN",
                        help="only cases whose id contains PATTERN or matches it as a glob, or whose group is PATTERN")

    p_run = sub.add_parser("run", help="run the correctness cases")
    add_selection(p_run)
    p_run.add_argument("--out", type=Path, help="also write results.json and correctness.md into this folder "
                       "(results.jsonl there grows as results complete)")
    p_run.add_argument("--shard", type=shards.parse_shard, metavar="K/N",
                       help="run only shard K of N: the cases whose id hashes to K (for CI matrices; "
                            "`merge` joins the shards' results)")
    add_output(p_run)
    sessions.add_options(p_run)
    _add_expectations_for(p_run)
    add_memory(p_run)

    p_bench = sub.add_parser("bench", help="measure speed (pytest-benchmark)")
    p_bench.add_argument("--impl", action="append", metavar="NAME|file.py:Class|module:Class",
                         help="implementation to time (repeatable; default: the set's, else "
                              f"{', '.join(DEFAULT_IMPLS)}; 'reference' times the golden float64 reference)")
    add_bench(p_bench)
    p_bench.add_argument("--out", type=Path, default=Path("reports/out"), help="folder for speed.md and benchmark.json")
    p_bench.add_argument("--mode", action="append", help="forward or training (forward+backward); repeatable; default: the set's")
    p_bench.add_argument("--dtype", action="append", help="dtype to time (repeatable; default: the set's)")
    add_memory(p_bench)

    p_report = sub.add_parser("report", help="correctness and speed: results.json, correctness.md, speed.md")
    add_selection(p_report)
    add_bench(p_report)
    p_report.add_argument("--out", type=Path, required=True, help="output folder")
    add_output(p_report)
    sessions.add_options(p_report, report=True)
    _add_expectations_for(p_report)
    add_memory(p_report)

    p_merge = sub.add_parser("merge", help="one results document and every table from the results.json "
                                           "files of the shards of one run (run --shard K/N)")
    p_merge.add_argument("files", nargs="+", type=Path, metavar="FILE", help="a shard's results.json")
    p_merge.add_argument("--out", type=Path, required=True, help="folder for the merged results.json and tables")
    p_merge.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML to FILE")
    p_merge.add_argument("--html", type=Path, metavar="FILE", help="also write the HTML report to FILE")

    p_compare = sub.add_parser("compare", help="CI gate: compare two results.json files (exit 1 on a regression)")
    p_compare.add_argument("baseline", type=Path, metavar="BASELINE", help="results.json of the reference run")
    p_compare.add_argument("current", type=Path, metavar="CURRENT", help="results.json of this run")
    p_compare.add_argument("--speed-threshold", default="10", metavar="PERCENT",
                           help="a speed that worsened by more than this is a regression: the ratio to the timing "
                                "baseline (torch-lstm) when both runs have it, else the own time (default 10)")
    p_compare.add_argument("--allow-missing", action="store_true",
                           help="records of the baseline that the current run lacks are listed, not regressions")
    p_compare.add_argument("--markdown", type=Path, metavar="FILE", help="also write the comparison as Markdown")

    p_mutants = sub.add_parser("mutants", help="the suite's mutation score: run the checks against a zoo of "
                                                "defective LSTMs, print the kill matrix (exit 1 if one survives)")
    p_mutants.add_argument("--cases", action="append", metavar="FILE", help="spec case file (default: built-in library)")
    p_mutants.add_argument("-k", "--filter", action="append", metavar="PATTERN", help="only these cases (as for run)")
    p_mutants.add_argument("--dtype", action="append", help="only these dtypes (repeatable)")
    p_mutants.add_argument("--check", action="append", metavar="NAME", help="only these checks (repeatable)")
    p_mutants.add_argument("--mutant", action="append", metavar="NAME", help="only these mutants (repeatable)")
    p_mutants.add_argument("--quick", action="store_true",
                           help="only the small case subset on which every mutant is killed (mutants.QUICK_CASES)")
    add_memory(p_mutants)

    p_repro = sub.add_parser("repro", help="write a self-contained bundle that reproduces one case on one "
                                           "implementation: the case with literal inputs, the expected outputs, "
                                           "the tolerances, the verdict and the command that replays it")
    p_repro.add_argument("case", metavar="CASE", help="the case id (exactly, as `list cases` prints it)")
    p_repro.add_argument("--impl", required=True, metavar="NAME|file.py:Class|module:Class",
                         help="the implementation whose verdict the bundle records")
    p_repro.add_argument("--dtype", required=True, help="the dtype of the case to reproduce")
    p_repro.add_argument("--out", type=Path, required=True, help="folder for the bundle")
    p_repro.add_argument("--cases", action="append", metavar="FILE",
                         help="spec case file holding CASE (repeatable; default: built-in library)")
    p_repro.add_argument("--check", action="append", metavar="NAME", help="only these checks (default: all)")

    p_calibrate = sub.add_parser("calibrate", help="the error distribution of correct implementations over the "
                                                    "library: the measurement behind the tolerances (SPEC.md §14)")
    p_calibrate.add_argument("--impl", action="append", metavar="NAME|file.py:Class|module:Class",
                             help="implementations known to be correct (repeatable; default: "
                                  "numpy, torch-cell, torch-lstm)")
    p_calibrate.add_argument("--cases", action="append", metavar="FILE", help="spec case file (default: built-in library)")
    p_calibrate.add_argument("-k", "--filter", action="append", metavar="PATTERN", help="only these cases (as for run)")

    p_validate = sub.add_parser("validate", help="check spec case files")
    p_validate.add_argument("files", nargs="+", type=Path, metavar="FILE", help="spec case file (YAML) to check")
    add_memory(p_validate)
    _add_outside_python_and_fuzz(sub, add_memory)
    p_survey = sub.add_parser("survey", help="every installed implementation over the whole library with every "
                                             "check, each in processes of its own, and one comparison report "
                                             "(survey.md, survey.html, results.json)")
    survey.add_arguments(p_survey)
    return parser


def _add_expectations_for(parser) -> None:
    parser.add_argument("--expectations-for", metavar="ADAPTER",
                        help="apply every --expectations file to the adapter named ADAPTER, whatever adapter or "
                             "implementation the file names (e.g. shipped onnxruntime entries for your own "
                             "onnxruntime adapter: --expectations builtin:onnxruntime --expectations-for my-ort)")


def _expectation_files(args) -> list:
    """--expectations, each as FILE@ADAPTER under --expectations-for (expectations.load reads that)."""
    files = args.expectations or []
    return [Path(f"{f}@{args.expectations_for}") for f in files] if args.expectations_for else files


def _add_outside_python_and_fuzz(sub, add_memory) -> None:
    """export and grade (golden data for implementations outside Python), fuzz (property-based search)."""
    p_export = sub.add_parser("export", help="write golden data for implementations outside Python: inputs, "
                                             "parameters, expected outputs and gradients (.npy, .npz), tolerances, "
                                             "manifest.json (docs/ADAPTERS.md)")
    p_export.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the golden data into")
    p_export.add_argument("--cases", action="append", metavar="FILE", help="spec case file (repeatable; default: built-in library)")
    p_export.add_argument("-k", "--filter", action="append", metavar="PATTERN", help="only these cases (as for run)")
    p_export.add_argument("--dtype", action="append", help="only these dtypes (repeatable)")
    add_memory(p_export)

    p_grade = sub.add_parser("grade", help="grade outputs written outside Python against golden data from export "
                                           "(the comparison, diagnosis and tables of run)")
    p_grade.add_argument("golden", type=Path, metavar="DIR", help="the golden data folder written by export")
    p_grade.add_argument("outputs", type=Path, metavar="OUTPUTS", help="folder of the implementation's outputs: "
                         "<key>.y.npy, <key>.h_n.npy, ... (docs/ADAPTERS.md)")
    p_grade.add_argument("--name", help="the implementation's name in the records (default: the first line of "
                                        "OUTPUTS/implementation.txt, else 'external')")
    p_grade.add_argument("-k", "--filter", action="append", metavar="PATTERN", help="only these cases (as for run)")
    p_grade.add_argument("--dtype", action="append", help="only these dtypes (repeatable)")
    p_grade.add_argument("--out", type=Path, help="also write results.json and correctness.md into this folder")
    p_grade.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML to FILE")
    p_grade.add_argument("--expectations", action="append", type=Path, metavar="FILE",
                         help="expectations file (repeatable): applied to the graded implementation whatever "
                              "adapter or implementation it names")
    p_grade.add_argument("--strict", action="store_true", help="exit status 1 also when an expected failure passes")
    p_grade.add_argument("--allow-empty", action="store_true", help="exit status 0 even when no case ran")
    level = p_grade.add_mutually_exclusive_group()
    level.add_argument("-v", "--verbose", action="store_true", help="also print one line per result")
    level.add_argument("-q", "--quiet", action="store_true", help="print only the final totals line")

    p_fuzz = sub.add_parser("fuzz", help="property-based search (hypothesis) over the problems an implementation "
                                         "supports; a failure is shrunk and written as a YAML case to replay")
    p_fuzz.add_argument("--impl", required=True, metavar="NAME|file.py:Class|module:Class",
                        help="the implementation to search")
    p_fuzz.add_argument("--examples", type=_positive_int, default=200, metavar="N",
                        help="how many problems to try (default 200)")
    p_fuzz.add_argument("--seed", type=int, default=0, metavar="S", help="the search's seed (default 0): the same "
                                                                          "seed tries the same problems")
    p_fuzz.add_argument("--out", type=Path, default=Path("reports/fuzz"), metavar="DIR",
                        help="where the shrunk failing case is written as YAML (default reports/fuzz)")
    p_fuzz.add_argument("--dtype", action="append", help="only these dtypes (repeatable; default: those the "
                                                         "implementation declares, of float32 and float64)")
    p_fuzz.add_argument("--max-size", type=_positive_int, default=6, metavar="N",
                        help="largest T, B, I, H tried (default 6)")


def _version() -> str:
    from importlib import metadata
    try:
        return metadata.version("lstm-conformance")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
        return __version__


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {text!r}")
    return value


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _adapters(names):
    try:
        return [load_adapter(n) for n in (names or DEFAULT_IMPLS)]
    except AdapterLoadError as err:
        raise UsageError(str(err)) from None


def _cases(args):
    for path in args.cases or []:
        if not Path(path).is_file():
            raise UsageError(f"--cases {path}: no such file")
    unknown = [d for d in getattr(args, "dtype", None) or [] if d not in DTYPES]
    if unknown:
        raise UsageError(f"--dtype {', '.join(unknown)}: unknown dtype; known: {', '.join(DTYPES)}")
    cases = select(load_cases(args.cases), args.filter)
    if not cases:
        raise UsageError(f"no case matches {args.filter}")
    return cases


def _shapes(args):
    try:
        if args.shapes:
            for shape in args.shapes:
                bench.parse_shape(shape)
            return args.shapes, "float32"
        return bench.shapes_of_set(args.set)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _record_line(record: dict) -> str:
    line = f"{record['status'].upper():<11} {record['impl']:<12} {record['case']} [{record['dtype']}]"
    if check_of(record) != "forward":
        line += f" {record['check']}"
    if record["status"] != Status.PASS and record["message"]:
        message = record["message"]  # a multi-line native error: its meaningful line, once
        line += "\n            " + (summary.condensed(message, limit=400) if "\n" in message else message)
    return line


def _options(args) -> sessions.RunOptions:
    """The run's options as plain values, read from the command line once."""
    return sessions.RunOptions(expectations=_expectation_files(args), no_builtin_expectations=args.no_builtin_expectations,
                               strict=args.strict, isolate=args.isolate, timeout=args.timeout, out=args.out,
                               junit=args.junit, html=args.html, allow_empty=args.allow_empty, jobs=args.jobs,
                               budget=args.budget, allow_incomplete=args.allow_incomplete)


def _session(args, options: sessions.RunOptions) -> sessions.Session:
    try:
        return sessions.Session(options, list(args.impl or DEFAULT_IMPLS), lambda name: _adapters([name])[0])
    except (sessions.SessionError, AdapterLoadError) as err:
        raise UsageError(str(err)) from None


def _selection(args) -> usecases.Selection:
    shard = getattr(args, "shard", None)
    return usecases.Selection(cases=shards.select_shard(_cases(args), shard), dtypes=args.dtype,
                              checks=_check_names(args), library=not args.cases,
                              filtered=bool(args.filter or args.check or args.dtype or shard),
                              shard="/".join(map(str, shard)) if shard else None, profile=args.profile)


def _listeners(args, progress):
    """What the use case tells the console: each record (the bar; a line with -v) and where the
    journal is (with -v)."""
    def on_record(record):
        progress.record(record)
        if args.verbose:
            progress.write(_record_line(record))

    def on_journal(path):
        if args.verbose:
            print(f"results are appended to {path} as they complete", file=sys.stderr)
    return on_record, on_journal


def _progress(args, selection: usecases.Selection, session) -> Progress:
    units = {(c.id, d, a.name) for c in selection.cases for d in c.dtypes
             if not selection.dtypes or d in selection.dtypes for a in session.adapters}
    return Progress(len(units), units=units, enabled=False if args.quiet else None)


def _print_summary(args, run: usecases.Outcome, written=()) -> None:
    """The summary (default), the per-record lines having gone before it (-v), or one line (-q)."""
    stopped = f"stopped early ({run.stopped}): the cases after it did not run" if run.stopped else ""
    if args.quiet:
        print(summary.totals(run.records) + (f"; {stopped}" if stopped else "")
              + (f"; incomplete: {run.incomplete}" if run.incomplete else ""))
        return
    for line in summary.render(run.records):
        print(line)
    if len({r["impl"] for r in run.records}) > 1:
        print(f"total: {summary.totals(run.records)}")
    if stopped:
        print(stopped)
    if run.incomplete:
        print(f"incomplete: {run.incomplete}")
    if written:
        print("wrote " + ", ".join(str(p) for p in written))
    if args.verbose or all(r["status"] == Status.PASS for r in run.records):
        return
    if args.out:
        print(f"details: {args.out / 'correctness.md'} (or the same command with -v)")
    else:
        print(f"details: {_command_line(args.argv + ['-v'])}")


def _command_line(argv) -> str:
    return "lstm-conformance " + shlex.join(argv)


def _check_names(args):
    """The --check names (None: all checks); a usage error for an unknown one."""
    try:
        return [c.name for c in select_checks(getattr(args, "check", None))] if getattr(args, "check", None) else None
    except ValueError as err:
        raise UsageError(f"--check: {err}") from None


def cmd_list(args, interrupts=None) -> int:
    if args.what == "checks":
        for check in CHECKS.values():
            print(f"{check.name:<20} {check.about}")
        return 0
    if args.what == "impls":
        for name in available_names():
            adapter = load_adapter(name)
            skip = adapter.skip_reason()
            print(f"{name:<12} {adapter.description}" + (f"  [skipped here: {skip}]" if skip else ""))
        return 0
    for case in _cases(args):
        print(f"{case.id:<45} {case.group:<10} {','.join(case.dtypes):<16} {case.about.strip()}")
    return 0


def _finish(args, outcome: usecases.Outcome, strict: bool, interrupts) -> int:
    """Print what happened and return the exit status (run, report, grade)."""
    if outcome.interrupted:
        print(f"interrupted: keeping the {len(outcome.records)} results so far", file=sys.stderr)
    _print_summary(args, outcome, outcome.written)
    if outcome.benchmark_error:
        print(f"lstm-conformance: error: benchmarks: {outcome.benchmark_error}", file=sys.stderr)
    if outcome.interrupted or (interrupts is not None and interrupts.interrupted):
        return interrupts.exit_status() if interrupts is not None else 130
    if outcome.nothing_ran and not args.allow_empty:  # a gate that tested nothing must not pass
        print("lstm-conformance: error: no case ran (every result unsupported or skipped, or none); "
              "--allow-empty accepts that", file=sys.stderr)
    allow_incomplete = getattr(args, "allow_incomplete", False)
    if outcome.incomplete and not allow_incomplete:
        print(f"lstm-conformance: error: the run is incomplete ({outcome.incomplete}); --allow-incomplete "
              "accepts that", file=sys.stderr)
    return outcome.exit_status(strict, args.allow_empty, allow_incomplete)


def cmd_run(args, interrupts) -> int:
    options = _options(args)
    selection = _selection(args)  # a bad --cases, -k, --dtype or --check before any adapter (torch) is loaded
    with _session(args, options) as session:
        with _progress(args, selection, session) as progress:
            on_record, on_journal = _listeners(args, progress)
            outcome = usecases.run(options, selection, session, args.maxfail, on_record, on_journal, interrupts)
        return _finish(args, outcome, session.strict, interrupts)


def _warn_blas_kernels() -> None:
    """Say before timing, not only in the table, when NumPy's GEMMs run below the CPU's rate."""
    from .bench import blas

    warning = blas.current_mismatch()
    if warning:
        print(f"lstm-conformance: warning: {warning}", file=sys.stderr)


def cmd_bench(args, interrupts=None) -> int:
    try:
        plan = bench.plan_run(args.set, args.shapes, args.mode, args.dtype, args.impl)
    except ValueError as err:
        raise UsageError(str(err)) from None
    # "reference" (the golden float64 reference) is a timing target of the benchmarks only
    adapters = [bench.bench_only_adapter(name) or _adapters([name])[0] for name in plan.impls or DEFAULT_IMPLS]
    _warn_blas_kernels()
    from .bench.timing import run_benchmarks  # here: only the timing commands load pytest

    speed = run_benchmarks(adapters, plan.shapes, plan.dtypes, args.out / "benchmark.json", quick=args.quick,
                           modes=plan.modes, baseline=plan.baseline, max_time=plan.max_time, threads=args.threads)
    env = environment.collect()
    text = tables.speed_markdown(speed, env, baseline=plan.baseline)
    results.atomic_write_text(args.out / "speed.md", text)
    print(text)
    return 0


def cmd_report(args, interrupts) -> int:
    shapes, dtype = _shapes(args)
    _warn_blas_kernels()
    options = _options(args)
    timing = usecases.Timing(shapes=shapes, dtype=dtype, quick=args.quick, batch_sizes=args.batch_sizes,
                             threads=args.threads)
    selection = _selection(args)
    with _session(args, options) as session:
        with _progress(args, selection, session) as progress:
            on_record, on_journal = _listeners(args, progress)
            outcome = usecases.report(options, selection, session, timing, args.maxfail, on_record, on_journal,
                                      interrupts)
        return _finish(args, outcome, session.strict, interrupts)


def cmd_merge(args, interrupts=None) -> int:
    try:
        document = shards.merge(shards.read_shards(args.files), [str(f) for f in args.files])
        sessions.check_output_paths(sessions.RunOptions(out=args.out, junit=args.junit, html=args.html))
    except (shards.MergeError, sessions.SessionError) as err:
        raise UsageError(str(err)) from None
    written = sessions.write_reports(document, args.out, args.junit, args.html)
    print(f"{summary.totals(document['records'])} (merged from {len(args.files)} files)")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_compare(args, interrupts=None) -> int:
    from .report import compare as comparing

    try:
        threshold = comparing.parse_threshold(args.speed_threshold)
        documents = [comparing.read_document(path, option) for path, option in
                     ((args.baseline, "BASELINE"), (args.current, "CURRENT"))]
    except ValueError as err:
        raise UsageError(str(err)) from None
    comparison = comparing.compare(*documents, threshold=threshold, allow_missing=args.allow_missing)
    print(comparison.text(), end="")
    if args.markdown:
        results.atomic_write_text(args.markdown, comparison.markdown())
    return comparison.exit_status()


def cmd_validate(args, interrupts=None) -> int:
    bad = 0
    for path in args.files:
        try:
            cases = load_file(path)
        except SpecError as err:
            print(f"INVALID {err}")
            bad += 1
        else:
            print(f"OK      {path}: {len(cases)} cases")
    return 1 if bad else 0


def cmd_mutants(args, interrupts=None) -> int:
    from . import mutants  # here: the zoo loads torch only for this command
    checks = _check_names(args)
    zoo = mutants.ZOO
    if args.mutant:
        known = {m.name: m for m in zoo}
        unknown = [n for n in args.mutant if n not in known]
        if unknown:
            raise UsageError(f"--mutant: unknown {', '.join(unknown)}; known: {', '.join(known)}")
        zoo = tuple(known[n] for n in args.mutant)
    cases = _cases(args)
    if args.quick:
        cases = [c for c in cases if c.id in mutants.QUICK_CASES]
    result = mutants.run_mutants(cases, zoo, checks, args.dtype)
    print(mutants.kill_matrix_markdown(result))
    return 0 if mutants.good(result) else 1


def cmd_repro(args, interrupts=None) -> int:
    from .harness import repro

    case = next((c for c in load_cases(args.cases) if c.id == args.case), None)
    if case is None:
        raise UsageError(f"CASE {args.case}: no such case (see `lstm-conformance list cases`)")
    try:
        bundle = repro.write_bundle(case, args.impl, args.dtype, args.out, checks=_check_names(args))
    except (ValueError, AdapterLoadError) as err:
        raise UsageError(str(err)) from None
    for record in bundle.records:
        print(_record_line(record))
    print(f"wrote {bundle.folder}; replay with: {bundle.command}")
    return 0


def cmd_calibrate(args, interrupts=None) -> int:
    from . import calibration

    cases = _cases(args)  # a bad --cases or -k before any adapter (torch) is loaded
    adapters = _adapters(args.impl or calibration.CORRECT_IMPLEMENTATIONS)
    print(calibration.markdown(calibration.calibrate(cases, adapters)))
    return 0


def cmd_export(args, interrupts=None) -> int:
    from .harness import export

    manifest = export.export(_cases(args), args.out, args.dtype)
    print(f"wrote {len(manifest['cases'])} case × dtype folders and {args.out / 'manifest.json'} "
          f"({len(manifest['not_exported'])} expect_error cases listed as not exported)")
    return 0


def cmd_grade(args, interrupts=None) -> int:
    from .harness import grade

    try:
        outcome = grade.grade(args.golden, args.outputs, args.name, args.filter, args.dtype, args.expectations or (),
                              args.out, args.junit, on_record=(lambda r: print(_record_line(r))) if args.verbose else None)
    except grade.GradeError as err:
        raise UsageError(str(err)) from None
    return _finish(args, outcome, args.strict, interrupts)


def cmd_survey(args, interrupts=None) -> int:
    try:
        options = survey.options_from(args, _command_line(args.argv))
        survey.check_selection(options)
        outcome = survey.Survey(options, log=lambda line: print(line, file=sys.stderr, flush=True)).run()
    except survey.SurveyError as err:
        raise UsageError(str(err)) from None
    print("wrote " + ", ".join(str(p) for p in outcome.written))
    if outcome.interrupted:
        return interrupts.exit_status() if interrupts is not None and interrupts.interrupted else 130
    return 0 if outcome.ran else 1  # a survey reports failures; it fails only when nothing ran


def cmd_fuzz(args, interrupts=None) -> int:
    from .harness import fuzz  # here: hypothesis loads only for this command
    search = fuzz.Search(examples=args.examples, seed=args.seed, dtypes=args.dtype, max_size=args.max_size)
    result = fuzz.fuzz(_adapters([args.impl])[0], args.impl, search, args.out)
    print(result.text())
    return 0 if result.passed else 1


COMMANDS = {"list": cmd_list, "run": cmd_run, "bench": cmd_bench, "report": cmd_report, "validate": cmd_validate,
            "compare": cmd_compare, "mutants": cmd_mutants, "calibrate": cmd_calibrate, "merge": cmd_merge,
            "repro": cmd_repro, "export": cmd_export, "grade": cmd_grade, "fuzz": cmd_fuzz, "survey": cmd_survey}


def main(argv=None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)  # argparse itself exits with 2 on a bad option
    args.argv = argv
    set_max_case_memory(getattr(args, "max_case_memory", None))  # None: the default
    interrupts = None
    try:
        with interruptible() as interrupts:  # Ctrl-C / SIGTERM: the results so far are written
            return COMMANDS[args.command](args, interrupts)
    except KeyboardInterrupt:  # outside a run (loading, writing): nothing to keep
        print("lstm-conformance: interrupted", file=sys.stderr)
        return interrupts.exit_status() if interrupts is not None else 130
    except UsageError as err:
        print(f"lstm-conformance: error: {err}", file=sys.stderr)
        return 2
    except SpecError as err:
        print(f"lstm-conformance: error: {err}", file=sys.stderr)
        return 2


def console_main() -> int:
    """The `lstm-conformance` command (and `python -m lstm_conformance.cli`): main(), then
    gc.freeze() so that the interpreter's last garbage collections at exit skip what the run
    left alive (0.25 s of CPU with torch loaded, 35 ms without)."""
    status = main()
    gc.freeze()
    return status


if __name__ == "__main__":
    sys.exit(console_main())
