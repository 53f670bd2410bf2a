"""`lstm-conformance export --out DIR`: the golden data of the case library, for implementations
outside Python (docs/ADAPTERS.md, "Implementations outside Python").

For every valid case and each of its dtypes, one folder DIR/<key> (key = the case id made
file-safe, a dot, the dtype) with, as .npy files: the inputs and parameters in the canonical
layout, stored in the tested dtype (bfloat16 as float32, which holds its values exactly); the
reference's outputs and, for a fixed upstream gradient (the gradients check's: U(-1, 1) on y,
h_n and c_n together, drawn from the case seed and rounded to the dtype), its gradients, both
in float64; and config.txt, the configuration as `key value` lines for readers without a
JSON parser. DIR/<case>.npz holds every array of a case (names `dtype/file`), DIR/cases.txt
the keys one a line, and DIR/manifest.json all of it with the tolerances (MANIFEST_VERSION).
Cases that expect an error are listed in the manifest as not exported: only a live
implementation can be asked to reject them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from .. import __version__
from .literal_case import config_options
from ..checks import CaseRun, ReferenceCache
from ..checks.base import upstream_gradients
from ..checks.gradients import reference_gradients
from ..checks.limits import REPEATED_RUNS_MAX_SEQ_LEN
from ..spec.materialize import materialize
from ..spec.model import ACTIVATION_ROLES, UPSTREAM_TERMS
from ..tolerances import tolerance_for

MANIFEST_VERSION = 1
FORMAT = "lstm-conformance golden data"
# what the inputs of a problem in a dtype are stored as (NumPy has no bfloat16)
STORAGE = {"float64": "<f8", "float32": "<f4", "float16": "<f2", "bfloat16": "<f4"}
GRADIENT_TOLERANCE_NOTE = "atol × max(1, max |expected|) per gradient array"
UPSTREAM_NOTE = ("L = Σ upstream_y ⊙ y + Σ upstream_h_n ⊙ h_n + Σ upstream_c_n ⊙ c_n; the upstream arrays are "
                 "U(-1, 1) drawn from the case seed and rounded to the dtype (the gradients check's 'all' term)")
OUTPUT_NAMING = "OUTPUTS/<key>.<output>.npy for y, h_n, c_n (and c); OUTPUTS/<key>.grad_<name>.npy for gradients; " \
                "OUTPUTS/<key>.unsupported.txt (one line, the reason) for a case the implementation does not run"


def case_key(case_id: str, dtype: str) -> str:
    """The file-safe name of a case in a dtype: '/' and anything unusual become '__'."""
    return re.sub(r"[^A-Za-z0-9_.-]", "__", case_id) + "." + dtype


def _activation(act) -> dict:
    return {"name": act.name, "alpha": act.alpha, "beta": act.beta}


def _activation_text(act: dict) -> str:
    """config.txt's spelling: the name, then alpha and beta where given ('sigmoid', 'hard_sigmoid 0.2 0.5')."""
    return " ".join([act["name"]] + [f"{act[k]:.17g}" if act[k] is not None else "none" for k in ("alpha", "beta")
                                     if act["alpha"] is not None or act["beta"] is not None])


def config_dict(problem) -> dict:
    config = problem.config
    out = {"input_size": config.input_size, "hidden_size": config.hidden_size, "num_layers": config.num_layers,
           "direction": config.direction, "num_directions": config.num_directions, "bias": config.bias,
           "proj_size": config.proj_size, "output_size": config.output_size, "batch_first": config.batch_first,
           "unbatched": config.unbatched, "peepholes": config.peepholes, "cell_clip": config.cell_clip,
           "input_forget": config.input_forget, "forget_bias": config.forget_bias,
           "activations": {role: _activation(config.activation(role)) for role in ACTIVATION_ROLES}}
    reverse = getattr(config, "activations_reverse", None)
    if reverse is not None:
        out["activations_reverse"] = {role: _activation(a) for role, a in zip(ACTIVATION_ROLES, reverse)}
    return out


def config_text(entry: dict) -> str:
    """config.txt: `key value` lines (booleans 0/1, `none` for an absent value)."""
    def text(value):
        if value is None:
            return "none"
        if isinstance(value, bool):
            return str(int(value))
        return f"{value:.17g}" if isinstance(value, float) else str(value)

    lines = {"case": entry["case"], "dtype": entry["dtype"], "seq_len": entry["seq_len"], "batch": entry["batch"]}
    for name, value in entry["config"].items():
        if isinstance(value, dict):
            lines.update({f"{name.replace('activations', 'activation')}_{role}": _activation_text(act)
                          for role, act in value.items()})
        else:
            lines[name] = value
    lines.update({name: name in entry["inputs"] for name in ("h0", "c0", "lengths")})
    lines["gradients"] = entry["expected_gradients"] is not None
    return "".join(f"{k} {text(v)}\n" for k, v in lines.items())


class _Writer:
    """Writes the arrays of one case × dtype and remembers their manifest entries."""

    def __init__(self, folder: Path, arrays: dict):
        self.folder, self.arrays = folder, arrays  # arrays: what goes into the case's .npz

    def save(self, stem: str, value: np.ndarray, storage: str) -> dict:
        array = np.ascontiguousarray(np.asarray(value).astype(storage))
        np.save(self.folder / f"{stem}.npy", array)
        self.arrays[f"{self.folder.name.rsplit('.', 1)[-1]}/{stem}"] = array
        return {"file": f"{self.folder.name}/{stem}.npy", "shape": list(array.shape), "dtype": array.dtype.str}


def export_case(case, dtype: str, out: Path, cache: ReferenceCache, arrays: dict) -> dict:
    """Write one case in one dtype; its manifest entry."""
    run = CaseRun(case, dtype, None, cache)  # no adapter: only the problem and the reference are used
    problem, key = run.problem, case_key(case.id, dtype)
    writer = _Writer(out / key, arrays)
    writer.folder.mkdir(parents=True, exist_ok=True)
    storage = STORAGE[dtype]
    inputs = {name: writer.save(name, getattr(problem, name), storage)
              for name in ("x", "h0", "c0") if getattr(problem, name) is not None}
    if problem.lengths is not None:
        inputs["lengths"] = writer.save("lengths", problem.lengths, "<i8")
    entry = {"case": case.id, "key": key, "dtype": dtype, "group": case.group, "about": case.about.strip(),
             "tags": list(case.tags), "seq_len": problem.seq_len, "batch": problem.batch,
             "features": sorted(problem.features()), "config": config_dict(problem),
             "options": config_options(problem.config), "inputs": inputs,
             "parameters": {name: writer.save(name, value, storage) for name, value in problem.params.items()},
             "expected": {name: writer.save(f"expected_{name}", value, "<f8")
                          for name, value in run.reference.items()},
             "expect": case.expect,
             "tolerance": tolerance_for(dtype).as_dict(),
             "gradient_tolerance": dict(tolerance_for(dtype, "gradients").as_dict(), note=GRADIENT_TOLERANCE_NOTE),
             "outputs": {name: f"{key}.{name}.npy" for name in run.reference},
             "npz": f"{re.sub(r'[^A-Za-z0-9_.-]', '__', case.id)}.npz"}
    entry.update(_gradients(run, writer, storage, key))
    (writer.folder / "config.txt").write_text(config_text(entry), encoding="utf-8")
    return entry


def _gradients(run, writer: _Writer, storage: str, key: str) -> dict:
    if run.problem.seq_len > REPEATED_RUNS_MAX_SEQ_LEN:
        return {"expected_gradients": None, "upstream": None,
                "gradients_note": f"T > {REPEATED_RUNS_MAX_SEQ_LEN}: no gradients (as for the gradients check)"}
    upstream = upstream_gradients(run)
    expected = reference_gradients(run, upstream, UPSTREAM_TERMS["all"])
    return {"upstream": {name: writer.save(f"upstream_{name}", value, storage) for name, value in upstream.items()},
            "expected_gradients": {name: writer.save(f"expected_grad_{name}", value, "<f8")
                                   for name, value in expected.items()},
            "gradient_outputs": {name: f"{key}.grad_{name}.npy" for name in expected}}


def export(cases: Iterable, out: Path, dtypes: Optional[list] = None, cache: Optional[ReferenceCache] = None) -> dict:
    """Write the golden data of `cases` (each in its dtypes, or only those in `dtypes`) into
    `out`; returns the manifest (also written as out/manifest.json)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = cache or ReferenceCache()
    entries, not_exported = [], []
    for case in cases:
        if case.expect_error is not None:
            not_exported.append({"case": case.id, "group": case.group, "about": case.about.strip(),
                                 "reason": "an invalid input that must be rejected (expect_error): only a live "
                                           "implementation can be asked to reject it (the errors check)"})
            continue
        arrays: dict = {}
        for dtype in case.dtypes:
            if not dtypes or dtype in dtypes:
                entries.append(export_case(case, dtype, out, cache, arrays))
        if arrays:
            np.savez(out / entries[-1]["npz"], **arrays)
    manifest = {"format": FORMAT, "version": MANIFEST_VERSION, "lstm_conformance": __version__,
                "layout": "canonical (PyTorch): SPEC.md §5; gate blocks i, f, g, o", "upstream": UPSTREAM_NOTE,
                "output_naming": OUTPUT_NAMING, "cases": entries, "not_exported": not_exported}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "cases.txt").write_text("".join(e["key"] + "\n" for e in entries), encoding="utf-8")
    return manifest
