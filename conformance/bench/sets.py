"""The named benchmark sets of spec/benchmarks.yaml, and what one `bench` command times."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from importlib import resources

import jsonschema
import yaml

from ..spec.model import DTYPES
from .shapes import parse_shape

BASELINE = "torch-lstm"  # the timing baseline: ratios are times over its time, same run
MODES = ("forward", "training")
MAX_ROUNDS = 300  # bounds a benchmark's time when a busy machine slows calls after the first

# The schema of a set in spec/benchmarks.yaml, checked like the case files' schema.
SET_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "about": {"type": "string"},
        "dtype": {"enum": list(DTYPES)},
        "dtypes": {"type": "array", "items": {"enum": list(DTYPES)}, "minItems": 1},
        "modes": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "impls": {"type": "array", "items": {"type": "string"}},
        "baseline": {"type": "string"},
        "max_time": {"type": "number", "exclusiveMinimum": 0},
        "shapes": {"type": "array", "items": {"type": "string"}},
        "product": {"type": "object"},
    },
}


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
    unknown = set(entry) - set(SET_SCHEMA["properties"]) if isinstance(entry, dict) else set()
    if unknown:
        known = ", ".join(sorted(SET_SCHEMA["properties"]))
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; known: {known}")
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(SET_SCHEMA).iter_errors(entry))
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path) or "(the set)"
        raise ValueError(f"{where}: {path}: {error.message}")
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
