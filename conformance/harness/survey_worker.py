"""The two jobs `lstm-conformance survey` runs in a process of their own, next to `run`:

    python -m lstm_conformance.harness.survey_worker probe SPEC --out FILE [--trial-cases PICKLE]
        one JSON object in FILE: the adapter's name, description, skip_reason() and the
        versions of the libraries it runs on (or the load error): an available adapter is run
        once, forward, on a small case of the library, so that the libraries it loads only when
        it runs (a Keras backend) are named, and those its module imports for another
        configuration (jax in a Keras adapter on TensorFlow) are not;
    python -m lstm_conformance.harness.survey_worker speed SPEC --out FILE [--set NAME | --shapes D ...]
        times the adapter and the set's timing baseline (torch-lstm) round-robin in this process
        (the ratio is taken within one process, as `bench` does) and writes the speed records.

A process per job, so that a framework that crashes or hangs costs one implementation, and two
heavy frameworks never share a process (except with the baseline's torch, for the ratio).
"""
from __future__ import annotations

import argparse
import ast
import functools
import gc
import importlib.util
import json
import pickle
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Optional

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


def adapter_files(spec: str) -> list[Path]:
    """The adapter's source file and the sibling modules it imports (what a survey's --reuse
    compares); empty when the source cannot be found without importing."""
    source, seen = adapter_source(spec), set()
    if source is not None:
        imported_modules(source, seen)
    return sorted(seen)


def imported_modules(path: Path, seen=None) -> set[str]:
    """Top-level names of the absolute imports of `path` (anywhere in it, also inside functions,
    where optional libraries are imported) and of the sibling modules it imports relatively
    (the files read are added to `seen`)."""
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


# The array libraries an adapter can compute with, by top-level module, with the modules of each.
# Keras (3) computes with one of them, its backend, and a Keras adapter imports the others for
# its other backends (Keras may load them too): those are not the libraries it ran on.
ARRAY_LIBRARIES = {"tensorflow": {"tensorflow"}, "jax": {"jax", "jaxlib"}, "torch": {"torch"},
                   "paddle": {"paddle"}, "mlx": {"mlx"}, "numpy": {"numpy"}}


def keras_backend(present) -> set[str]:
    """The modules of the array library Keras computes with in this process (empty without Keras)."""
    keras = sys.modules.get("keras") if "keras" in present else None
    try:
        return set(ARRAY_LIBRARIES.get(keras.backend.backend(), ())) if keras is not None else set()
    except Exception:  # noqa: BLE001 - a Keras without backend(): nothing to tell
        return set()


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> dict:
    """{top-level module: its distributions}, read once per process (a probe asks twice: before
    and after its trial run; reading every installed package's metadata takes ~0.1 s)."""
    return metadata.packages_distributions()


def library_versions(spec: str, present=None, computed_with=()) -> dict:
    """{distribution: version} of the installed libraries the adapter's module imports. With
    `present` (the top-level modules of the process after a trial run): only those imported
    there, plus the array library `computed_with` when it is known (a Keras backend), and no
    other array library (those of the adapter's other configurations)."""
    source = adapter_source(spec)
    modules = imported_modules(source) if source is not None else set()
    if present is not None:
        modules &= set(present)
        if computed_with:
            others = set().union(*ARRAY_LIBRARIES.values()) - {"numpy"} - set(computed_with)
            modules = (modules - others) | set(computed_with)
        for family in ARRAY_LIBRARIES.values():  # jax runs on jaxlib
            if modules & family:
                modules |= family & set(present)
    modules = {m for m in modules if m not in sys.stdlib_module_names and m != "lstm_conformance"}
    distributions = _packages_distributions() if modules else {}  # none to name: no metadata to read
    versions = {}
    for module in sorted(modules):
        for distribution in distributions.get(module, []):
            try:
                versions[distribution] = metadata.version(distribution)
            except metadata.PackageNotFoundError:
                pass
    return versions


def _top_modules() -> set[str]:
    return {name.split(".")[0] for name in list(sys.modules)}


def trial_candidates(cases) -> list:
    """The cases a trial run tries, in order: those that expect no error, smallest first."""
    from ..spec import budget

    return sorted((c for c in cases if c.expect_error is None), key=lambda c: sum(budget.case_elements(c)))


def trial_run(adapter, candidates=None) -> str:
    """Runs `adapter` once, forward, on the smallest case of the library it supports (float32,
    else the first dtype it declares; the next when one raises, up to five); returns that case
    and dtype, else raises. Only to see what the adapter runs on: the result is not checked
    (run does that). `candidates`: trial_candidates() of the library, when the caller has them
    (default: the library is loaded here)."""
    from ..adapter import prepared_callable
    from ..spec.materialize import materialize

    if candidates is None:
        from ..spec.loader import load_cases
        candidates = trial_candidates(load_cases())
    dtypes = adapter.capabilities().dtypes
    dtype = "float32" if "float32" in dtypes else sorted(dtypes)[0]
    failures = []
    for case in candidates:
        problem = materialize(case, dtype)
        if adapter.unsupported_reason(problem) is not None:
            continue
        try:
            adapter.to_numpy(prepared_callable(adapter, problem)())
        except Exception as err:  # noqa: BLE001 - a case it fails (a finding): try the next
            failures.append(f"{case.id} [{dtype}] raised {type(err).__name__}: {str(err)[:200]}")
            if len(failures) == 5:
                break
            continue
        return f"{case.id} [{dtype}]"
    raise RuntimeError(failures[0] if failures else f"no case of the library in {dtype} that it supports")


def probe(spec: str, write=None, candidates=None) -> dict:
    """The probe's answer; `write` (called with it before the trial run, then after) keeps
    what was learnt should the trial run kill the process; `candidates`: see trial_run."""
    started = time.perf_counter()
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
           "versions": library_versions(spec), "seconds": time.perf_counter() - started}
    if error:
        out["error"] = error
    if error or skip:
        return out
    if write is not None:
        write(dict(out, trial_run="died (the process ended during it)"))
    try:
        out["trial_run"] = trial_run(adapter, candidates)
    except Exception as err:  # noqa: BLE001 - the run reports the adapter's failures; here only what it loads
        out["trial_run"] = f"failed: {err}"
    else:
        present = _top_modules()
        out["versions"] = library_versions(spec, present, keras_backend(present))
    out.update(description=adapter.description, seconds=time.perf_counter() - started)
    return out


def speed(spec: str, out: Path, set_name: str = "cpu", shapes=None, quick: bool = False,
          threads: Optional[int] = None) -> dict:
    """Times the adapter (and the baseline, for the ratio) with `threads` per library (default
    bench.DEFAULT_THREADS); writes and returns {"set", "shapes", "dtypes", "modes", "baseline",
    "records"} (the adapter's own records)."""
    # here, not at the top: a probe process (most of a survey's processes) needs neither the
    # benchmark sets nor pytest
    from .. import bench
    from ..bench.timing import run_benchmarks

    threads = bench.DEFAULT_THREADS if threads is None else threads

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
    p_probe.add_argument("--trial-cases", type=Path, help="trial_candidates() of the library, pickled (by the "
                         "survey, once for all its probes: default, the library is loaded here)")
    p_speed = sub.add_parser("speed")
    p_speed.add_argument("spec")
    p_speed.add_argument("--out", type=Path, required=True)
    p_speed.add_argument("--set", default="cpu")
    p_speed.add_argument("--shapes", action="append")
    p_speed.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.job == "probe":
        args.out.parent.mkdir(parents=True, exist_ok=True)

        def write(answer):  # stdout is the library's
            args.out.write_text(json.dumps(answer) + "\n", encoding="utf-8")
        candidates = pickle.loads(args.trial_cases.read_bytes()) if args.trial_cases else None
        write(probe(args.spec, write, candidates))
        return 0
    speed(args.spec, args.out, args.set, args.shapes, args.quick)
    return 0


if __name__ == "__main__":
    status = main()
    gc.freeze()  # the interpreter's last collections at exit then skip what the job left alive
    sys.exit(status)
