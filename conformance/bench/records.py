"""Speed records from pytest-benchmark's JSON: time, ratio to the timing baseline with its
bootstrap 95% interval, the noise guard's verdict, achieved GFLOP/s and its share of the
machine's measured GEMM rate (the best of the GEMMs before and after the timings)."""
from __future__ import annotations

import itertools
import json
from pathlib import Path
from statistics import median

from .confidence import ratio_interval, ratio_of
from .flops import mode_flops
from .interleave import row_reasons
from .sets import BASELINE
from .shapes import parse_shape


def adapter_device(adapter) -> str:
    devices = adapter.capabilities().devices
    return "cuda" if "cuda" in devices else sorted(devices)[0]


def _stats(bench: dict) -> dict:
    s = bench["stats"]
    out = {"median": s["median"], "iqr": s["iqr"], "rounds": s["rounds"], "min": s["min"], "mean": s["mean"]}
    out.update({k: s[k] for k in ("q1", "q3") if k in s})
    return out


def gemm_rates(benchmarks: list[dict]) -> dict:
    """(dtype, device) -> the fastest GEMM (library, before or after the timings; each the best
    of its rounds): {"gflops", "library", "m", "k", "n", "seconds", "before", "after"}, where
    before and after are the best rates measured before and after the implementations."""
    best: dict = {}
    for bench in benchmarks:
        info = bench["extra_info"]
        if info.get("kind") != "gemm":
            continue
        seconds = bench["stats"]["min"]  # best of several: the rate the machine can reach
        gflops = 2.0 * info["m"] * info["k"] * info["n"] / seconds / 1e9
        key = (info["dtype"], info["device"])
        entry = best.setdefault(key, {"gflops": 0.0})
        when = info.get("when", "before")
        entry[when] = max(entry.get(when, 0.0), gflops)
        if gflops > entry["gflops"]:
            entry.update(gflops=gflops, library=info["library"], m=info["m"], k=info["k"], n=info["n"],
                         seconds=seconds)
    return best


def _rounds(bench: dict) -> list:
    return bench["stats"].get("data") or []


def speed_records(json_path, adapters, shapes, dtypes, skipped, modes=("forward",), baseline=BASELINE) -> list[dict]:
    dtypes = [dtypes] if isinstance(dtypes, str) else list(dtypes)
    benchmarks = json.loads(Path(json_path).read_text())["benchmarks"] if Path(json_path).exists() else []
    measured, rounds, noise = {}, {}, {}
    for bench in benchmarks:
        info = bench["extra_info"]
        if info.get("kind", "lstm") == "lstm":
            key = (info["shape"], info.get("mode", "forward"), info["dtype"], info["impl"])
            measured[key], rounds[key] = _stats(bench), _rounds(bench)
            if info.get("noise"):
                noise[key] = info["noise"]
    gemms = gemm_rates(benchmarks)
    records = []
    for shape, mode, dtype in itertools.product(shapes, modes, dtypes):
        flops = mode_flops(parse_shape(shape), mode)
        base = measured.get((shape, mode, dtype, baseline), {}).get("median")
        base_rounds = rounds.get((shape, mode, dtype, baseline), [])
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
            own_rounds = rounds.get((shape, mode, dtype, adapter.name), [])
            ratio = None
            if base:
                ratio = ratio_of(own_rounds, base_rounds) if own_rounds and base_rounds else stats["median"] / base
            rec.update(status="ok", **stats, gflops=gflops, ratio=ratio, baseline=baseline)
            if base and adapter.name != baseline:
                interval = ratio_interval(own_rounds, base_rounds)
                if interval:
                    rec["ratio_ci"] = [interval[0], interval[1]]
            group_noise = noise.get((shape, mode, dtype, adapter.name))
            if group_noise:
                reasons = row_reasons(group_noise, adapter.name, baseline if base else adapter.name)
                rec.update(reliable=not reasons, noise={**group_noise, "reasons": reasons})
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
