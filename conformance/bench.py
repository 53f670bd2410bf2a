"""Speed measurement with pytest-benchmark: shapes × modes × dtypes × adapters, only the prepared
computation timed, plus the machine's own matrix-multiply rate measured in the same session.

`run_benchmarks` starts an in-process pytest session over bench_tests.py, which receives the
adapters and shapes through a small plugin object, and reads pytest-benchmark's JSON back.

Modes: `forward` times `adapter.prepare(problem)()`; `training` times the callable of the
optional `adapter.prepare_training(problem)`: forward, then backward of sum(y) (see adapter.py).
"""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import sys
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from statistics import median
from typing import Optional, Sequence

import pytest
import yaml

from .adapter import FEATURES, Adapter, Capabilities
from .spec.loader import CaseSpec
from .spec.model import DTYPES

SHAPE_PATTERN = re.compile(r"^t(\d+)b(\d+)i(\d+)h(\d+)(?:l(\d+))?(bi)?(?:p(\d+))?$")
BASELINE = "torch-lstm"
MODES = ("forward", "training")
# Backward ≈ 2 × forward in matrix products (gradients w.r.t. the inputs and the weights).
TRAINING_FLOP_FACTOR = 3.0
GEMM_MAX_ROWS = 2048
MAX_ROUNDS = 300  # bounds a benchmark's time when a busy machine slows calls after the first  # rows of the matrix-multiply-rate GEMM, capped to keep it short
SET_KEYS = {"about", "dtype", "dtypes", "modes", "impls", "baseline", "max_time", "shapes", "product"}


def parse_shape(descriptor: str) -> CaseSpec:
    """A benchmark problem from a descriptor such as t100b32i256h256 or t50b8i64h64l2bip16."""
    match = SHAPE_PATTERN.match(descriptor)
    if not match:
        raise ValueError(f"shape {descriptor!r}: expected t<T>b<B>i<I>h<H>[l<layers>][bi][p<proj>], e.g. t100b32i256h256")
    T, B, I, H, layers, bi, proj = match.groups()
    options = {"num_layers": int(layers or 1), "bidirectional": bool(bi), "proj_size": int(proj or 0)}
    return CaseSpec(id=descriptor, about="benchmark shape", group="bench", file="<benchmark>",
                    shape={"seq_len": int(T), "batch": int(B), "input_size": int(I), "hidden_size": int(H)},
                    options=options, seed=0,
                    inputs={"h0": {"uniform": [-1, 1]}, "c0": {"uniform": [-1, 1]}})


# ----------------------------------------------------------------------------- benchmark sets

@dataclass(frozen=True)
class BenchSet:
    """A named set of spec/benchmarks.yaml: what to time, in which dtypes and modes, with whom."""

    name: str
    about: str
    shapes: tuple
    dtypes: tuple = ("float32",)
    modes: tuple = ("forward",)
    impls: tuple = ()  # empty: the command's default implementations
    baseline: str = BASELINE  # ratios are medians over this implementation's, same shape, mode, dtype
    max_time: float = 1.0  # seconds of timed rounds per benchmark (rounds between 5 and MAX_ROUNDS)


def expand_product(product: dict, where: str) -> list[str]:
    """Shape descriptors of a product such as {t: [25, 50], b: [1, 4], h: [256], i: h}:
    every combination, in the order T, B, H; `i: h` makes I equal H."""
    unknown = set(product) - {"t", "b", "i", "h"}
    if unknown or not {"t", "b", "h"} <= set(product):
        raise ValueError(f"{where}: product needs lists t, b, h and i (a list, or 'h'); got keys {sorted(product)}")
    inputs = product.get("i", "h")
    shapes = []
    for t, b, h in itertools.product(product["t"], product["b"], product["h"]):
        for i in ([h] if inputs == "h" else inputs):
            shapes.append(f"t{t}b{b}i{i}h{h}")
    return shapes


def _parse_set(name: str, entry: dict) -> BenchSet:
    where = f"benchmarks.yaml, set {name}"
    unknown = set(entry) - SET_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; known: {', '.join(sorted(SET_KEYS))}")
    shapes = list(entry.get("shapes", []))
    if "product" in entry:
        shapes += expand_product(entry["product"], where)
    if not shapes:
        raise ValueError(f"{where}: no shapes (give shapes, a product, or both)")
    for shape in shapes:
        parse_shape(shape)
    dtypes = tuple(entry.get("dtypes", [entry.get("dtype", "float32")]))
    modes = tuple(entry.get("modes", ["forward"]))
    bad_modes = set(modes) - set(MODES)
    if bad_modes:
        raise ValueError(f"{where}: unknown modes {sorted(bad_modes)}; expected {', '.join(MODES)}")
    return BenchSet(name=name, about=str(entry.get("about", "")).strip(), shapes=tuple(dict.fromkeys(shapes)),
                    dtypes=dtypes, modes=modes, impls=tuple(entry.get("impls", ())),
                    baseline=str(entry.get("baseline", BASELINE)), max_time=float(entry.get("max_time", 1.0)))


def load_sets() -> dict[str, BenchSet]:
    text = (resources.files("lstm_conformance.spec") / "benchmarks.yaml").read_text(encoding="utf-8")
    return {name: _parse_set(name, entry) for name, entry in yaml.safe_load(text)["sets"].items()}


def benchmark_set(name: str) -> BenchSet:
    sets = load_sets()
    if name not in sets:
        raise ValueError(f"--set {name}: unknown benchmark set; expected one of {', '.join(sets)}")
    return sets[name]


def plan_run(set_name: str, shapes=None, modes=None, dtypes=None, impls=None) -> BenchSet:
    """What one `bench` command times: the named set, or the --shapes given (which replace the
    set's shapes), with --mode, --dtype and --impl overriding the set's own lists."""
    chosen = BenchSet(name="--shapes", about="shapes from the command line", shapes=tuple(shapes)) if shapes \
        else benchmark_set(set_name)
    for shape in chosen.shapes:
        parse_shape(shape)
    for mode in modes or ():
        if mode not in MODES:
            raise ValueError(f"--mode {mode}: expected one of {', '.join(MODES)}")
    for dtype in dtypes or ():
        if dtype not in DTYPES:
            raise ValueError(f"--dtype {dtype}: expected one of {', '.join(DTYPES)}")
    return replace(chosen, modes=tuple(modes or chosen.modes), dtypes=tuple(dtypes or chosen.dtypes),
                   impls=tuple(impls or chosen.impls))


def shapes_of_set(name: str) -> tuple[list[str], str]:
    """The set's shapes and its first dtype (for callers that time one dtype)."""
    chosen = benchmark_set(name)
    return list(chosen.shapes), chosen.dtypes[0]


# ----------------------------------------------------------------------------- FLOPs and the GEMM

def forward_flops(case: CaseSpec) -> float:
    """≈ 2·T·B·4H·(I + H) per layer and direction (plus the projection when there is one)."""
    cfg = case.config
    T, B = case.shape["seq_len"], case.shape["batch"]
    total = 0.0
    for layer in range(cfg.num_layers):
        I = cfg.input_size if layer == 0 else cfg.num_directions * cfg.output_size
        per_dir = 2 * T * B * 4 * cfg.hidden_size * (I + cfg.output_size)
        if cfg.proj_size:
            per_dir += 2 * T * B * cfg.hidden_size * cfg.proj_size
        total += per_dir * cfg.num_directions
    return float(total)


def mode_flops(case: CaseSpec, mode: str) -> float:
    return forward_flops(case) * (TRAINING_FLOP_FACTOR if mode == "training" else 1.0)


def gemm_size(shapes: Sequence[str]) -> tuple[int, int, int]:
    """(M, K, N) of a GEMM comparable to the set: the first layer of the largest shape done as
    one product, (T·B, I + H) @ (I + H, 4H), rows capped at GEMM_MAX_ROWS."""
    cases = [parse_shape(s) for s in shapes]
    largest = max(cases, key=forward_flops)
    T, B = largest.shape["seq_len"], largest.shape["batch"]
    cfg = largest.config
    return min(T * B, GEMM_MAX_ROWS), cfg.input_size + cfg.output_size, 4 * cfg.hidden_size


# Square GEMMs large enough to reach a BLAS's plateau; with the comparable one above, the
# fastest measured rate is the speed tables' physical limit.
SQUARE_GEMM = {"cpu": 1024, "cuda": 8192}


def gemm_sizes(shapes: Sequence[str], device: str) -> list[tuple[int, int, int]]:
    n = SQUARE_GEMM.get(device, 1024)
    return list(dict.fromkeys([gemm_size(shapes), (n, n, n)]))


def adapter_device(adapter) -> str:
    devices = adapter.capabilities().devices
    return "cuda" if "cuda" in devices else sorted(devices)[0]


# ----------------------------------------------------------------------------- the reference as a target

class ReferenceTiming(Adapter):
    """The float64 golden reference as a timing target (bench only: it is what every adapter is
    compared with, so it is not an implementation under test). Training: lstm_backward, which
    re-runs the forward pass keeping its steps, with upstream gradient ones for y."""

    name = "reference"
    description = "float64 NumPy golden reference (reference/forward.py, backward.py)"

    def capabilities(self):
        return Capabilities(dtypes={"float64"}, features=set(FEATURES), activations=None, gradients=True,
                            reasons={"dtype": "the reference computes in float64 only"})

    def prepare(self, problem):
        from .reference import lstm_forward
        p = problem
        return lambda: lstm_forward(p.config, p.x, p.params, p.h0, p.c0, p.lengths)

    def prepare_training(self, problem):
        import numpy as np

        from .reference import lstm_backward
        p = problem
        ones = np.ones(y_shape(p))
        return lambda: lstm_backward(p.config, p.x, p.params, p.h0, p.c0, p.lengths, grad_y=ones)


def y_shape(problem) -> tuple[int, ...]:
    """Shape of y for a problem (x's shape with the last axis D·(P or H))."""
    cfg = problem.config
    return problem.x.shape[:-1] + (cfg.num_directions * cfg.output_size,)


BENCH_ONLY = {"reference": ReferenceTiming}


def bench_only_adapter(name: str) -> Optional[Adapter]:
    """A timing target that exists only in the benchmarks (e.g. "reference"), or None."""
    return BENCH_ONLY[name]() if name in BENCH_ONLY else None


# ----------------------------------------------------------------------------- the pytest session

class _BenchPlugin:
    """Hands the adapters and shapes to bench_tests.py inside the pytest session."""

    def __init__(self, adapters, shapes, dtypes, modes, max_time=1.0, min_rounds=5, max_rounds=MAX_ROUNDS):
        self.adapters, self.shapes, self.dtypes, self.modes = adapters, list(shapes), list(dtypes), list(modes)
        # rounds per benchmark: max_time / (one call), at least min_rounds, at most max_rounds
        self.max_time, self.min_rounds, self.max_rounds = max_time, min_rounds, max_rounds
        self.skipped: dict = {}  # (shape, mode, dtype, impl) -> why it was not timed
        devices = sorted({adapter_device(a) for a in adapters if a.skip_reason() is None} | {"cpu"})
        # (dtype, device, library, M, K, N): NumPy's BLAS too on the CPU, where it has the dtype
        self.gemms = [(dtype, device, library, *size) for dtype in self.dtypes for device in devices
                      for library in (("torch", "numpy") if device == "cpu" and dtype in ("float32", "float64")
                                      else ("torch",))
                      for size in gemm_sizes(self.shapes, device)]

    @pytest.fixture
    def lstm_bench_plugin(self):
        return self

    def pytest_generate_tests(self, metafunc):
        # Parameters are plain strings and ints: pytest-benchmark writes them into its JSON.
        if "lstm_bench" in metafunc.fixturenames:
            items = [(shape, mode, dtype, index) for shape in self.shapes for mode in self.modes
                     for dtype in self.dtypes for index in range(len(self.adapters))]
            metafunc.parametrize("lstm_bench", items,
                                 ids=[f"{s}-{m}-{d}-{self.adapters[i].name}" for s, m, d, i in items])
        if "gemm_bench" in metafunc.fixturenames:
            metafunc.parametrize("gemm_bench", self.gemms, ids=["-".join(map(str, g)) for g in self.gemms])


def run_conditions() -> dict:
    """Thread settings and machine load at the start of a run: on a shared CPU they decide
    whether timings mean anything (two threads on two busy cores stall each other)."""
    import os

    import torch
    info = {"torch_threads": torch.get_num_threads()}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE"):
        if os.environ.get(var):
            info[var] = os.environ[var]
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    return info


def run_benchmarks(adapters, shapes, dtype, json_path, quick=False, modes=("forward",),
                   baseline=BASELINE, max_time=1.0) -> list[dict]:
    """Time every adapter on every shape, mode and dtype (`dtype`: one name or a list); returns
    speed records, one per shape × mode × dtype × adapter."""
    dtypes = [dtype] if isinstance(dtype, str) else list(dtype)
    for s in shapes:
        parse_shape(s)  # fail fast on a bad descriptor, before any timing
    bad_modes = set(modes) - set(MODES)
    if bad_modes:
        raise ValueError(f"modes {sorted(bad_modes)}: expected {', '.join(MODES)}")
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.unlink(missing_ok=True)  # never read a previous run's numbers
    args = [str(Path(__file__).with_name("bench_tests.py")), "-p", "no:cacheprovider", "-qq",
            "--benchmark-quiet",  # our speed table is the speed output, not pytest-benchmark's
            f"--benchmark-json={json_path}", "--benchmark-sort=name",
            "--rootdir", str(json_path.parent), "-o", "python_files=bench_tests.py", "-o", "testpaths="]
    plugin = _BenchPlugin(adapters, shapes, dtypes, modes, max_time=min(0.2, max_time) if quick else max_time,
                          min_rounds=3 if quick else 5)
    conditions = run_conditions()
    pytest_output = io.StringIO()  # pytest's own lines are shown only when the session fails
    with contextlib.redirect_stdout(pytest_output):
        code = pytest.main(args, plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        if code != pytest.ExitCode.INTERRUPTED:
            print(pytest_output.getvalue(), end="", file=sys.stderr)
        raise RuntimeError(f"the benchmark session failed (pytest exit status {int(code)}); see the output above")
    records = speed_records(json_path, adapters, shapes, dtypes, plugin.skipped, modes, baseline)
    for record in records:
        record["conditions"] = conditions
    return records


def _stats(bench: dict) -> dict:
    s = bench["stats"]
    return {"median": s["median"], "iqr": s["iqr"], "rounds": s["rounds"], "min": s["min"], "mean": s["mean"]}


def gemm_rates(benchmarks: list[dict]) -> dict:
    """(dtype, device) -> the fastest library's GEMM: {"gflops", "library", "m", "k", "n", "median"}."""
    best: dict = {}
    for bench in benchmarks:
        info = bench["extra_info"]
        if info.get("kind") != "gemm":
            continue
        flops = 2.0 * info["m"] * info["k"] * info["n"]
        rate = {"gflops": flops / bench["stats"]["median"] / 1e9, "library": info["library"],
                "m": info["m"], "k": info["k"], "n": info["n"], "median": bench["stats"]["median"]}
        key = (info["dtype"], info["device"])
        if key not in best or rate["gflops"] > best[key]["gflops"]:
            best[key] = rate
    return best


def speed_records(json_path, adapters, shapes, dtypes, skipped, modes=("forward",), baseline=BASELINE) -> list[dict]:
    dtypes = [dtypes] if isinstance(dtypes, str) else list(dtypes)
    benchmarks = json.loads(Path(json_path).read_text())["benchmarks"] if Path(json_path).exists() else []
    measured = {}
    for bench in benchmarks:
        info = bench["extra_info"]
        if info.get("kind", "lstm") == "lstm":
            measured[(info["shape"], info.get("mode", "forward"), info["dtype"], info["impl"])] = _stats(bench)
    gemms = gemm_rates(benchmarks)
    records = []
    for shape, mode, dtype in itertools.product(shapes, modes, dtypes):
        flops = mode_flops(parse_shape(shape), mode)
        base = measured.get((shape, mode, dtype, baseline), {}).get("median")
        for adapter in adapters:
            device = adapter_device(adapter)
            rec = {"shape": shape, "mode": mode, "impl": adapter.name, "dtype": dtype, "device": device,
                   "flops": flops}
            stats = measured.get((shape, mode, dtype, adapter.name))
            if not stats:
                rec.update(status="not measured",
                           message=skipped.get((shape, mode, dtype, adapter.name), "benchmark did not run"))
                records.append(rec)
                continue
            gflops = flops / stats["median"] / 1e9
            rec.update(status="ok", **stats, gflops=gflops, ratio=(stats["median"] / base) if base else None,
                       baseline=baseline)
            gemm = gemms.get((dtype, device))
            if gemm:
                rec.update(gemm=gemm, gemm_share=gflops / gemm["gflops"])
            records.append(rec)
    return records


def ratio_summary(records: list[dict]) -> dict:
    """Median ratio to the baseline per (implementation, mode, dtype), over the shapes measured."""
    groups: dict = {}
    for r in records:
        if r.get("ratio") is not None:
            groups.setdefault((r["impl"], r.get("mode", "forward"), r["dtype"]), []).append(r["ratio"])
    return {key: median(values) for key, values in groups.items()}
