"""The `lstm-conformance` command: list, run, bench, report, validate.

Exit status: 0 success; 1 a case failed or errored (or a spec file is invalid, for validate);
2 a usage error (unknown implementation, bad path, bad option), printed as one line.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import bench, environment, results, tables
from .registry import AdapterLoadError, available_names, load_adapter
from .runner import exit_status, run_suite
from .spec.loader import SpecError, load_cases, load_file, select

DEFAULT_IMPLS = ("numpy", "torch-cell", "torch-lstm", "cuda")


class UsageError(Exception):
    """A bad argument: printed as one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lstm-conformance", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add_selection(p):
        p.add_argument("--impl", action="append", metavar="NAME|file.py:Class|module:Class",
                       help=f"implementation under test (repeatable; default: {', '.join(DEFAULT_IMPLS)})")
        p.add_argument("--cases", action="append", metavar="FILE", help="spec case file (repeatable; default: built-in library)")
        p.add_argument("-k", "--filter", action="append", metavar="PATTERN",
                       help="only cases whose id contains PATTERN or matches it as a glob, or whose group is PATTERN")
        p.add_argument("--dtype", action="append", help="only these dtypes (repeatable)")

    def add_bench(p):
        p.add_argument("--set", default="ci", help="benchmark set from spec/benchmarks.yaml (default: ci)")
        p.add_argument("--shapes", action="append", metavar="DESC", help="shape descriptors such as t100b32i256h256 (replace --set)")
        p.add_argument("--quick", action="store_true", help="fewer rounds (for smoke tests)")

    p_list = sub.add_parser("list", help="list spec cases or implementations")
    p_list.add_argument("what", choices=["cases", "impls"], nargs="?", default="cases")
    p_list.add_argument("--cases", action="append", metavar="FILE")
    p_list.add_argument("-k", "--filter", action="append", metavar="PATTERN")

    p_run = sub.add_parser("run", help="run the correctness cases")
    add_selection(p_run)
    p_run.add_argument("--out", type=Path, help="also write results.json and correctness.md into this folder")

    p_bench = sub.add_parser("bench", help="measure speed (pytest-benchmark)")
    p_bench.add_argument("--impl", action="append", metavar="NAME|file.py:Class|module:Class")
    add_bench(p_bench)
    p_bench.add_argument("--out", type=Path, default=Path("reports/out"), help="folder for speed.md and benchmark.json")

    p_report = sub.add_parser("report", help="correctness and speed: results.json, correctness.md, speed.md")
    add_selection(p_report)
    add_bench(p_report)
    p_report.add_argument("--out", type=Path, required=True, help="output folder")

    p_validate = sub.add_parser("validate", help="check spec case files")
    p_validate.add_argument("files", nargs="+", type=Path)
    return parser


def _adapters(names):
    try:
        return [load_adapter(n) for n in (names or DEFAULT_IMPLS)]
    except AdapterLoadError as err:
        raise UsageError(str(err)) from None


def _cases(args):
    for path in args.cases or []:
        if not Path(path).is_file():
            raise UsageError(f"--cases {path}: no such file")
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


def _print_record(record: dict) -> None:
    line = f"{record['status'].upper():<11} {record['impl']:<12} {record['case']} [{record['dtype']}]"
    if record["status"] != "pass" and record["message"]:
        line += f"\n            {record['message']}"
    print(line, flush=True)


def _run_correctness(args, adapters):
    cases = _cases(args)
    records: list = []
    interrupted = False
    try:
        run_suite(cases, adapters, args.dtype, on_record=lambda r: (records.append(r), _print_record(r)))
    except KeyboardInterrupt:  # keep what was computed; the caller writes it
        interrupted = True
        print(f"interrupted: keeping the {len(records)} results so far", file=sys.stderr)
    return records, interrupted


def _summary_line(records) -> str:
    from collections import Counter
    counts = Counter(r["status"] for r in records)
    return ", ".join(f"{counts[s]} {s}" for s in ("pass", "fail", "error", "unsupported", "skipped") if counts[s])


def cmd_list(args) -> int:
    if args.what == "impls":
        for name in available_names():
            adapter = load_adapter(name)
            skip = adapter.skip_reason()
            print(f"{name:<12} {adapter.description}" + (f"  [skipped here: {skip}]" if skip else ""))
        return 0
    for case in _cases(args):
        print(f"{case.id:<45} {case.group:<10} {','.join(case.dtypes):<16} {case.about.strip()}")
    return 0


def cmd_run(args) -> int:
    adapters = _adapters(args.impl)
    records, interrupted = _run_correctness(args, adapters)
    print(_summary_line(records))
    if args.out:
        _write_reports(args.out, records, [], {"command": "run", "interrupted": interrupted})
    return 130 if interrupted else exit_status(records)


def cmd_bench(args) -> int:
    adapters = _adapters(args.impl)
    shapes, dtype = _shapes(args)
    speed = bench.run_benchmarks(adapters, shapes, dtype, args.out / "benchmark.json", quick=args.quick)
    env = environment.collect()
    text = tables.speed_markdown(speed, env)
    results.atomic_write_text(args.out / "speed.md", text)
    print(text)
    return 0


def cmd_report(args) -> int:
    adapters = _adapters(args.impl)
    shapes, dtype = _shapes(args)
    records, interrupted = _run_correctness(args, adapters)
    speed = []
    if not interrupted:
        speed = bench.run_benchmarks(adapters, shapes, dtype, args.out / "benchmark.json", quick=args.quick)
    _write_reports(args.out, records, speed, {"command": "report", "interrupted": interrupted, "shapes": shapes})
    print(_summary_line(records))
    print(f"wrote {args.out}/results.json, correctness.md, speed.md, benchmark.json")
    return 130 if interrupted else exit_status(records)


def _write_reports(out: Path, records, speed, settings) -> None:
    env = environment.collect()
    results.write(out / "results.json", results.build(records, env, speed, settings))
    results.atomic_write_text(out / "correctness.md", tables.correctness_markdown(records))
    if speed:
        results.atomic_write_text(out / "speed.md", tables.speed_markdown(speed, env))


def cmd_validate(args) -> int:
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


COMMANDS = {"list": cmd_list, "run": cmd_run, "bench": cmd_bench, "report": cmd_report, "validate": cmd_validate}


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # argparse itself exits with 2 on a bad option
    try:
        return COMMANDS[args.command](args)
    except UsageError as err:
        print(f"lstm-conformance: error: {err}", file=sys.stderr)
        return 2
    except SpecError as err:
        print(f"lstm-conformance: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
