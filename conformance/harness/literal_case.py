"""A concrete problem written back as a spec case with literal inputs and parameters.

`grade` rebuilds the exported problems this way (the arrays are the data, not a seed), and
`fuzz` writes the problem hypothesis shrank to as a YAML case file that the loader reads and
`lstm-conformance run --cases FILE` replays. The arrays of a Problem are exactly representable
in its dtype, so materializing the literal case gives back the same problem bit for bit.
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Optional

import numpy as np
import yaml

from ..spec.loader import CaseSpec, load_file
from ..spec.model import ACTIVATION_ROLES, STANDARD_ACTIVATIONS, Activation, LSTMConfig

_DEFAULTS = {f.name: f.default for f in fields(LSTMConfig)}
# not written as plain options: the sizes are the shape, `direction` stands for `bidirectional`
# (the same setting), and the activations are written by role
_STRUCTURE = ("input_size", "hidden_size", "activations", "activations_reverse", "bidirectional")


def _activation(act: Activation):
    if act.alpha is None and act.beta is None:
        return act.name
    out = {"name": act.name}
    if act.alpha is not None:
        out["alpha"] = float(act.alpha)
    if act.beta is not None:
        out["beta"] = float(act.beta)
    return out


def config_options(config: LSTMConfig) -> dict:
    """The `options:` of a case with this configuration: only what differs from the defaults
    (`direction` stands for `bidirectional`, which is the same setting)."""
    options = {name: getattr(config, name) for name in _DEFAULTS
               if name not in _STRUCTURE and getattr(config, name) != _DEFAULTS[name]}
    acts = {role: _activation(config.activation(role)) for role in ACTIVATION_ROLES
            if config.activation(role) != STANDARD_ACTIVATIONS[role]}
    if acts:
        options["activations"] = acts
    reverse = getattr(config, "activations_reverse", None)  # a bidirectional LSTM's own reverse activations
    if reverse is not None:
        options["activations_reverse"] = {role: _activation(act) for role, act in zip(ACTIVATION_ROLES, reverse)}
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in options.items()}


def _literal(array: Optional[np.ndarray]):
    return "none" if array is None else {"literal": np.asarray(array, dtype=np.float64).tolist()}


def case_document(problem, case_id: str, about: str, expect=(), tags=()) -> dict:
    """The YAML mapping of one case holding `problem` as literals (its dtype is the case's only dtype)."""
    config = problem.config
    inputs = {"x": _literal(problem.x), "h0": _literal(problem.h0), "c0": _literal(problem.c0)}
    if problem.lengths is not None:
        inputs["lengths"] = [int(n) for n in problem.lengths]
    document = {"id": case_id, "about": about,
                "shape": {"seq_len": int(problem.seq_len), "batch": int(problem.batch),
                          "input_size": config.input_size, "hidden_size": config.hidden_size},
                "options": config_options(config), "dtypes": [problem.dtype], "inputs": inputs,
                "parameters": {name: _literal(value) for name, value in problem.params.items()}}
    if expect:
        document["expect"] = list(expect)
    if tags:
        document["tags"] = list(tags)
    return document


def literal_case(problem, case_id: str, about: str, group: str, expect=(), tags=(), file="<literal>") -> CaseSpec:
    """The CaseSpec of `problem` (not schema-checked: use write_case_file for a file to share)."""
    doc = case_document(problem, case_id, about, expect, tags)
    return CaseSpec(id=doc["id"], about=about, group=group, file=str(file), shape=doc["shape"],
                    options=doc["options"], dtypes=tuple(doc["dtypes"]), inputs=doc["inputs"],
                    parameters=doc["parameters"], expect=list(expect), tags=tuple(tags))


def write_case_file(path: Path, group: str, about: str, cases: list[dict], header: str = "") -> list[CaseSpec]:
    """Write case mappings as a spec file, then load it back (so it is known to be valid)."""
    text = yaml.safe_dump({"group": group, "about": about, "cases": cases}, sort_keys=False, width=100,
                          default_flow_style=None, allow_unicode=True)  # innermost lists on one line
    comment = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(comment + text, encoding="utf-8")
    return load_file(path)
