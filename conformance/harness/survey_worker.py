"""The two jobs `lstm-conformance survey` runs in a process of their own, next to `run`:

    python -m lstm_conformance.harness.survey_worker probe SPEC --out FILE
        one JSON object in FILE: the adapter's name, description, skip_reason() and the
        versions of the libraries its module imports (or the load error);
    python -m lstm_conformance.harness.survey_worker speed SPEC --out FILE [--set NAME | --shapes D ...]
        times the adapter and the set's timing baseline (torch-lstm) round-robin in this process
        (the ratio is taken within one process, as `bench` does) and writes the speed records.

A process per job, so that a framework that crashes or hangs costs one implementation, and two
heavy frameworks never share a process (except with the baseline's torch, for the ratio).
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import sys
import time
from importlib import metadata
from pathlib import Path

from .. import bench
from ..implementations import BUILTIN
from .registry import AdapterLoadError, load_adapter


def adapter_source(spec: str):
    """The file that defines the adapter of `spec` (None when it cannot be found without importing)."""
    target = BUILTIN[spec].split(":")[0] if spec in BUILTIN else spec.rsplit(":", 1)[0] if ":" in spec else None
    if target is None:
        return None
    if target.endswith(".py") or "/" in target:
        return Path(target) if Path(target).is_file() else None
    try:
        found = importlib.util.find_spec(target)
    except (ImportError, ValueError):
        return None
    return Path(found.origin) if found and found.origin and found.origin.endswith(".py") else None


def imported_modules(path: Path, seen=None) -> set[str]:
    """Top-level names of the absolute imports of `path` (anywhere in it, also inside functions,
    where optional libraries are imported) and of the sibling modules it imports relatively."""
    seen = set() if seen is None else seen
    if path in seen or not path.is_file():
        return set()
    seen.add(path)
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif node.level == 1:  # a sibling module: its imports are the adapter's too
                for module in ([node.module] if node.module else [a.name for a in node.names]):
                    names |= imported_modules(path.parent / f"{module.split('.')[0]}.py", seen)
    return names


# Frameworks whose version the report names when the adapter loaded them without importing them
# by name (a Keras adapter choosing its backend loads jax or tensorflow through keras).
FRAMEWORKS = ("tensorflow", "keras", "tf_keras", "jax", "jaxlib", "flax", "paddle", "equinox", "haiku", "mlx",
              "torch", "onnx", "onnxruntime", "onnx2torch", "ai_edge_litert", "tflite_runtime")


def library_versions(spec: str, loaded=()) -> dict:
    """{distribution: version} of the installed libraries the adapter's module imports, and of
    the FRAMEWORKS among the top-level modules `loaded` (those loading the adapter brought in)."""
    source = adapter_source(spec)
    modules = imported_modules(source) if source is not None else set()
    modules |= {m for m in loaded if m in FRAMEWORKS}
    distributions = metadata.packages_distributions()
    versions = {}
    for module in sorted(modules):
        if module in sys.stdlib_module_names or module == "lstm_conformance":
            continue
        for distribution in distributions.get(module, []):
            try:
                versions[distribution] = metadata.version(distribution)
            except metadata.PackageNotFoundError:
                pass
    return versions


def probe(spec: str) -> dict:
    started = time.perf_counter()
    before = {name.split(".")[0] for name in sys.modules}
    try:
        adapter = load_adapter(spec)
    except AdapterLoadError as err:
        return {"spec": spec, "error": str(err), "seconds": time.perf_counter() - started}
    try:
        skip = adapter.skip_reason()
    except Exception as err:  # a broken skip_reason is the adapter's error, shown as such
        skip = None
        error = f"skip_reason() raised {type(err).__name__}: {err}"
    else:
        error = None
    out = {"spec": spec, "name": adapter.name, "description": adapter.description, "skip_reason": skip,
           "versions": library_versions(spec, {name.split(".")[0] for name in sys.modules} - before), "seconds": time.perf_counter() - started}
    if error:
        out["error"] = error
    return out


def speed(spec: str, out: Path, set_name: str = "cpu", shapes=None, quick: bool = False,
          threads: int = bench.DEFAULT_THREADS) -> dict:
    """Times the adapter (and the baseline, for the ratio); writes and returns
    {"set", "shapes", "dtypes", "modes", "baseline", "records"} (the adapter's own records)."""
    from ..bench.timing import run_benchmarks  # here: only timing loads pytest

    plan = bench.plan_run(set_name, shapes)
    adapter = load_adapter(spec)
    adapters = [adapter]
    if adapter.name != plan.baseline:
        adapters.append(bench.bench_only_adapter(plan.baseline) or load_adapter(plan.baseline))
    records = run_benchmarks(adapters, list(plan.shapes), list(plan.dtypes), out.parent / "benchmark.json",
                             quick=quick, modes=plan.modes, baseline=plan.baseline, max_time=plan.max_time,
                             threads=threads)
    document = {"set": plan.name, "shapes": list(plan.shapes), "dtypes": list(plan.dtypes),
                "modes": list(plan.modes), "baseline": plan.baseline,
                "records": [r for r in records if r["impl"] == adapter.name]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1, default=str) + "\n", encoding="utf-8")
    return document


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lstm_conformance.harness.survey_worker")
    sub = parser.add_subparsers(dest="job", required=True)
    p_probe = sub.add_parser("probe")
    p_probe.add_argument("spec")
    p_probe.add_argument("--out", type=Path, required=True)
    p_speed = sub.add_parser("speed")
    p_speed.add_argument("spec")
    p_speed.add_argument("--out", type=Path, required=True)
    p_speed.add_argument("--set", default="cpu")
    p_speed.add_argument("--shapes", action="append")
    p_speed.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.job == "probe":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(probe(args.spec)) + "\n", encoding="utf-8")  # stdout is the library's
        return 0
    speed(args.spec, args.out, args.set, args.shapes, args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
