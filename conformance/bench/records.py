"""Speed records from pytest-benchmark's JSON: time, ratio to the timing baseline, achieved
GFLOP/s and its share of the machine's measured GEMM rate."""
from __future__ import annotations

import itertools
import json
from pathlib import Path
from statistics import median

from .flops import mode_flops
from .sets import BASELINE
from .shapes import parse_shape


def adapter_device(adapter) -> str:
    devices = adapter.capabilities().devices
    return "cuda" if "cuda" in devices else sorted(devices)[0]


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
