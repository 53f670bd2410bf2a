"""The noise experiment of docs/PERFORMANCE.md: can `compare` trust the speed numbers of a
shared 2-core runner?

    python tests/bench/noise_experiment.py --runs 5 --out DIR

times the ci set `runs` times as it is, then `runs` − 1 times with one implementation slowed by
+30% (each call followed by a busy wait of 30% of its own time), and compares every ordered pair
of plain runs (5 runs: 20 compares, which must pass) and every plain run with every slowed run
(5 × 4: 20 compares, which must each flag that implementation). It prints the width of every
ratio's 95% interval, the rows the noise guard marked unreliable, and the compare outcomes
under three gates: as `compare` gates (noise guard on), without the guard's load rule, and by
the intervals alone. (A script, not a test: it takes minutes and measures the machine.)
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import itertools
import json
import time
from pathlib import Path

from lstm_conformance.bench.interleave import row_reasons
from lstm_conformance.bench.sets import benchmark_set
from lstm_conformance.harness.registry import load_adapter
from lstm_conformance.report import compare as comparing
from lstm_conformance.report import results

SLOWDOWN = 0.30


class Slowed:
    """An adapter whose timed callables take (1 + SLOWDOWN) times as long as the wrapped one's."""

    def __init__(self, adapter, slowdown: float = SLOWDOWN):
        self._adapter, self._slowdown = adapter, slowdown

    def __getattr__(self, name):
        return getattr(self._adapter, name)

    def _slow(self, run):
        if run is None:
            return None

        def slowed():
            started = time.perf_counter()
            out = run()
            until = started + (time.perf_counter() - started) * (1 + self._slowdown)
            while time.perf_counter() < until:
                pass
            return out
        return slowed

    def prepare(self, problem):
        return self._slow(self._adapter.prepare(problem))

    def prepare_training(self, problem):
        return self._slow(self._adapter.prepare_training(problem))


def one_run(folder: Path, chosen, slowed: str | None = None) -> dict:
    from lstm_conformance.bench.timing import run_benchmarks  # loads pytest

    adapters = [Slowed(load_adapter(n)) if n == slowed else load_adapter(n) for n in chosen.impls]
    speed = run_benchmarks(adapters, list(chosen.shapes), list(chosen.dtypes), folder / "benchmark.json",
                           modes=chosen.modes, baseline=chosen.baseline, max_time=chosen.max_time)
    document = results.build([], {}, speed, {"command": "noise_experiment", "slowed": slowed})
    results.write(folder / "results.json", document)
    return document


def interval_widths(document: dict) -> list[float]:
    """Half-width of each ratio's 95% interval relative to the ratio (0.1: ±10%)."""
    return [max(s["ratio"] - s["ratio_ci"][0], s["ratio_ci"][1] - s["ratio"]) / s["ratio"]
            for s in document["speed"] if s.get("ratio_ci")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--set", default="ci")
    parser.add_argument("--slow", default="numpy", help="the implementation to slow down")
    parser.add_argument("--max-time", type=float, help="seconds per implementation and group (default: the set's)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    chosen = benchmark_set(args.set)
    if args.max_time:
        chosen = dataclasses.replace(chosen, max_time=args.max_time)
    plain, slowed = [], []
    for number in range(args.runs):
        plain.append(one_run(args.out / f"plain-{number}", chosen))
        report_run(f"plain {number}", plain[-1])
    for number in range(max(args.runs - 1, 1)):
        slowed.append(one_run(args.out / f"slowed-{number}", chosen, slowed=args.slow))
        report_run(f"slowed {number}", slowed[-1])
    summary = {guard: outcome(plain, slowed, args.slow, guard) for guard in GUARDS}
    print(json.dumps(summary, indent=1))
    results.atomic_write_text(args.out / "summary.json", json.dumps(summary, indent=1) + "\n")
    return 0


# How the rows are gated in the analysis: as the tool does; without the load rule (the spread
# rule only); and by the intervals alone (every row gated).
GUARDS = ("as-gated", "spread-rule-only", "intervals-only")


def with_guard(document: dict, guard: str) -> dict:
    out = copy.deepcopy(document)
    for row in out["speed"]:
        if guard == "intervals-only":
            row["reliable"] = True
        elif guard == "spread-rule-only" and row.get("noise"):
            reasons = row_reasons(dict(row["noise"], load_average_1min=None), row["impl"], row.get("baseline") or "")
            row["reliable"], row["noise"]["reasons"] = not reasons, reasons
    return out


def outcome(plain: list, slowed: list, slow: str, guard: str) -> dict:
    plain, slowed = [with_guard(d, guard) for d in plain], [with_guard(d, guard) for d in slowed]
    same = [comparing.compare(a, b) for a, b in itertools.permutations(plain, 2)]
    caught = [comparing.compare(a, b) for a, b in itertools.product(plain, slowed)]
    flagged = [any(c.kind == "regression" and c.key[2] == slow for c in comparison.changes)
               for comparison in caught]
    slow_rows = [c for comparison in caught for c in comparison.changes if c.key[2] == slow]
    return {"same_code_passed": sum(c.exit_status() == 0 for c in same), "same_code_compares": len(same),
            "slowdown_caught": sum(flagged), "slowdown_compares": len(caught),
            "slowed_rows_flagged": sum(c.kind == "regression" for c in slow_rows),
            "slowed_rows": sum(row["impl"] == slow for row in slowed[0]["speed"]) * len(caught) if slowed else 0,
            "false_alarms": [f"{c.key} {c.note}" for comparison in same for c in comparison.regressions][:5]}


def report_run(label: str, document: dict) -> None:
    widths = interval_widths(document)
    unreliable = [s for s in document["speed"] if s.get("reliable") is False]
    conditions = next((s.get("conditions") for s in document["speed"] if s.get("conditions")), {})
    print(f"{label}: {len(widths)} ratios, 95% interval half-width max {max(widths, default=0):.1%}, "
          f"within ±10%: {sum(w <= 0.10 for w in widths)}/{len(widths)}; unreliable rows {len(unreliable)}"
          f"/{len(document['speed'])}; load at start {conditions.get('load_average_1min')}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
