"""Speed measurement with pytest-benchmark: shapes × adapters, only the prepared computation timed.

`run_benchmarks` starts an in-process pytest session over bench_tests.py, which receives the
adapters and shapes through a small plugin object, and reads pytest-benchmark's JSON back.
"""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from statistics import median

import pytest
import yaml

from .spec.loader import CaseSpec
from .spec.materialize import materialize

SHAPE_PATTERN = re.compile(r"^t(\d+)b(\d+)i(\d+)h(\d+)(?:l(\d+))?(bi)?(?:p(\d+))?$")
BASELINE = "torch-lstm"


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


def load_sets() -> dict:
    text = (resources.files("lstm_conformance.spec") / "benchmarks.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["sets"]


def shapes_of_set(name: str) -> tuple[list[str], str]:
    sets = load_sets()
    if name not in sets:
        raise ValueError(f"--set {name}: unknown benchmark set; expected one of {', '.join(sets)}")
    return list(sets[name]["shapes"]), sets[name].get("dtype", "float32")


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


class _BenchPlugin:
    """Hands the adapters and shapes to bench_tests.py inside the pytest session."""

    def __init__(self, adapters, shapes, dtype):
        self.adapters, self.shapes, self.dtype = adapters, shapes, dtype
        self.skipped: dict = {}  # (shape, impl) -> why it was not timed

    @pytest.fixture
    def lstm_bench_plugin(self):
        return self

    def pytest_generate_tests(self, metafunc):
        # Parameters are plain strings and ints: pytest-benchmark writes them into its JSON.
        if "lstm_bench" in metafunc.fixturenames:
            items = [(shape, index) for shape in self.shapes for index in range(len(self.adapters))]
            metafunc.parametrize("lstm_bench", items, ids=[f"{s}-{self.adapters[i].name}" for s, i in items])


def run_benchmarks(adapters, shapes, dtype, json_path, quick=False) -> list[dict]:
    """Time every adapter on every shape; returns speed records (one per shape × adapter)."""
    for s in shapes:
        parse_shape(s)  # fail fast on a bad descriptor, before any timing
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    args = [str(Path(__file__).with_name("bench_tests.py")), "-p", "no:cacheprovider", "-q",
            f"--benchmark-json={json_path}", "--benchmark-warmup=on", "--benchmark-sort=name",
            f"--benchmark-max-time={0.2 if quick else 1.0}", f"--benchmark-min-rounds={3 if quick else 5}",
            "--rootdir", str(json_path.parent), "-o", "python_files=bench_tests.py", "-o", "testpaths="]
    plugin = _BenchPlugin(adapters, shapes, dtype)
    code = pytest.main(args, plugins=[plugin])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise RuntimeError(f"the benchmark session failed (pytest exit status {int(code)}); see the output above")
    return speed_records(json_path, adapters, shapes, dtype, plugin.skipped)


def speed_records(json_path, adapters, shapes, dtype, skipped) -> list[dict]:
    measured = {}
    if Path(json_path).exists():
        for bench in json.loads(Path(json_path).read_text())["benchmarks"]:
            shape, impl = bench["extra_info"]["shape"], bench["extra_info"]["impl"]
            stats = bench["stats"]
            measured[(shape, impl)] = {"median": stats["median"], "iqr": stats["iqr"], "rounds": stats["rounds"],
                                       "min": stats["min"], "mean": stats["mean"]}
    records = []
    for shape in shapes:
        flops = forward_flops(parse_shape(shape))
        base = measured.get((shape, BASELINE), {}).get("median")
        for adapter in adapters:
            rec = {"shape": shape, "mode": "forward", "impl": adapter.name, "dtype": dtype, "flops": flops}
            stats = measured.get((shape, adapter.name))
            if stats:
                rec.update(status="ok", **stats, gflops=flops / stats["median"] / 1e9,
                           ratio=(stats["median"] / base) if base else None)
            else:
                rec.update(status="not measured", message=skipped.get((shape, adapter.name), "benchmark did not run"))
            records.append(rec)
    return records


def ratio_summary(records: list[dict]) -> dict:
    """Median ratio to the baseline per implementation, over the shapes measured."""
    by_impl: dict = {}
    for r in records:
        if r.get("ratio") is not None:
            by_impl.setdefault(r["impl"], []).append(r["ratio"])
    return {impl: median(values) for impl, values in by_impl.items()}
