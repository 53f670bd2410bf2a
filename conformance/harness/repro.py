"""Repro bundles: one failing case × implementation × dtype, in a folder that replays anywhere.

    DIR/case.yaml        the case with every input and parameter as a literal (the values the
                         implementation saw, already rounded to the dtype), its options, its
                         literal expectations; the same case id, so expectations files apply
    DIR/expected.npz     the float64 reference's outputs for those inputs
    DIR/tolerances.json  the tolerances of the dtype (atol, rtol)
    DIR/verdict.json     the records of this run of the case (status and message per check)
    DIR/README.md        what the folder holds, and the command that replays it:
                         lstm-conformance run --cases DIR/case.yaml --impl IMPL --dtype DTYPE
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import yaml

from ..reference import lstm_forward
from ..report.results import atomic_write_text
from ..spec.loader import CaseSpec
from ..spec.materialize import materialize
from ..tolerances import tolerance_for
from .registry import load_adapter
from .runner import run_checks


@dataclass
class Bundle:
    folder: Path
    case_file: Path
    command: str
    records: list  # the run of the case that the bundle records (verdict.json)


def _plain(value):
    """YAML-safe plain values: tuples as lists, NumPy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _literal(array) -> Union[dict, str]:
    return "none" if array is None else {"literal": np.asarray(array, dtype=np.float64).tolist()}


def case_document(case: CaseSpec, dtype: str) -> dict:
    """The case file of the bundle: `case` in `dtype` with its arrays as literals."""
    # An id made by a matrix ("random/t20b4i16h32/bias/given-state") is written as its base id and
    # a matrix of one variant per axis, so the bundle's case keeps the id (and expectations apply).
    base, *labels = case.id.split("/")
    entry = {"id": base, "about": f"repro bundle of {case.id} [{dtype}]: {' '.join(case.about.split())}",
             "shape": _plain(case.shape), "options": _plain(case.options), "dtypes": [dtype], "seed": case.seed}
    if case.expect_error is not None:  # the inputs are the invalid ones the case makes: keep them as written
        entry.update(inputs=_plain(case.inputs), parameters=_plain(case.parameters), expect_error=case.expect_error)
    else:
        problem = materialize(case, dtype)
        inputs = {"x": _literal(problem.x), "h0": _literal(problem.h0), "c0": _literal(problem.c0)}
        if problem.lengths is not None:
            inputs["lengths"] = [int(n) for n in problem.lengths]
        entry.update(inputs=inputs, parameters={name: _literal(v) for name, v in problem.params.items()})
        if case.expect:
            entry["expect"] = _plain(case.expect)
    if case.tags:
        entry["tags"] = list(case.tags)
    if labels:
        entry["matrix"] = {f"part{number}": {label: None} for number, label in enumerate(labels, 1)}
    return {"group": case.group, "about": f"repro bundle (lstm_conformance.harness.repro) of {case.id}",
            "cases": [entry]}


def _expected(case: CaseSpec, dtype: str) -> Optional[dict]:
    if case.expect_error is not None:
        return None
    problem = materialize(case, dtype)
    out = lstm_forward(problem.config, problem.x, problem.params, problem.h0, problem.c0, problem.lengths)
    return {k: np.asarray(v) for k, v in out.as_dict().items() if v is not None}


def write_bundle(case: CaseSpec, impl: Union[str, object], dtype: str, out_dir, checks=None) -> Bundle:
    """Write the repro bundle of `case` in `dtype` for `impl` (an --impl spec such as "numpy" or
    "my_lstm.py:MyLSTM", or an adapter object) into `out_dir`, after running the case once to
    record its verdict. `checks`: check names to run (default: all that apply)."""
    if dtype not in case.dtypes:
        raise ValueError(f"case {case.id} has no dtype {dtype}; it has {', '.join(case.dtypes)}")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    adapter = load_adapter(impl) if isinstance(impl, str) else impl
    spec = impl if isinstance(impl, str) else adapter.name
    case_file = folder / "case.yaml"
    atomic_write_text(case_file, yaml.safe_dump(case_document(case, dtype), sort_keys=False, width=120))
    expected = _expected(case, dtype)
    if expected is not None:
        np.savez_compressed(folder / "expected.npz", **expected)
    atomic_write_text(folder / "tolerances.json", json.dumps(tolerance_for(dtype).as_dict(), indent=1) + "\n")
    records = run_checks(case, dtype, adapter, checks=checks)
    atomic_write_text(folder / "verdict.json", json.dumps(
        [{k: r.get(k) for k in ("case", "dtype", "impl", "check", "status", "message")} for r in records],
        indent=1) + "\n")
    argv = ["run", "--cases", str(case_file), "--impl", spec, "--dtype", dtype]
    for check in checks or ():
        argv += ["--check", check]
    command = "lstm-conformance " + shlex.join(argv)
    atomic_write_text(folder / "README.md", _readme(case, spec, dtype, command, records))
    return Bundle(folder=folder, case_file=case_file, command=command, records=records)


def _readme(case: CaseSpec, spec: str, dtype: str, command: str, records: list) -> str:
    verdicts = "\n".join(f"- {r['check']}: {r['status']}" + (f" — {r['message']}" if r.get("message") else "")
                         for r in records)
    return (f"# Repro bundle: {case.id} [{dtype}] on {spec}\n\n"
            "Replay (from any machine with lstm-conformance and the implementation installed):\n\n"
            f"```bash\n{command}\n```\n\n"
            "- `case.yaml`: the case, every input and parameter as a literal (the values the implementation saw)\n"
            "- `expected.npz`: the float64 reference's outputs (y, h_n, c_n, c) for those inputs\n"
            "- `tolerances.json`: the tolerances of the dtype\n"
            "- `verdict.json`: the verdict of the run that wrote this bundle\n\n"
            f"Verdict when the bundle was written:\n\n{verdicts}\n")
