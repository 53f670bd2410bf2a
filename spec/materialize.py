"""Turn a CaseSpec into concrete Problems: generate the arrays from the case seed, round them
to the tested dtype, and hand them over as float64 (so the reference sees exactly what the
implementation sees)."""
from __future__ import annotations

import fnmatch
import zlib

import numpy as np

from . import budget
from .loader import CaseSpec, SpecError, check_ranges
from .model import Problem, input_shape, parameter_shapes, state_shapes


def round_to_dtype(values: np.ndarray, dtype: str) -> np.ndarray:
    """The float64 array of the values `values` takes when stored in `dtype`."""
    values = np.asarray(values, dtype=np.float64)
    if dtype == "float64":
        return values.copy()
    if dtype in ("float32", "float16"):
        with np.errstate(over="ignore"):  # a value past the dtype's range is inf there, as stored
            return values.astype(dtype).astype(np.float64)
    if dtype == "bfloat16":
        # bfloat16 is the top half of a float32: round to nearest, ties to even, on the bits.
        bits = values.astype(np.float32).view(np.uint32).astype(np.uint64)
        rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16).astype(np.uint32)
        out = rounded.view(np.float32).astype(np.float64)
        return np.where(np.isnan(values), np.nan, out)
    raise ValueError(f"unknown dtype {dtype!r}")


def make_array(spec, shape: tuple, seed: int, name: str) -> np.ndarray | None:
    """Build one array from its data spec; random ones from a generator keyed by (seed, name),
    so that adding an array to a case never changes the others."""
    if spec == "none":
        return None
    if spec == "zeros":
        return np.zeros(shape)
    if spec == "ones":
        return np.ones(shape)
    shape = tuple(spec.get("shape", shape))
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    if "literal" in spec:
        out = np.array(spec["literal"], dtype=np.float64).reshape(shape)
    elif "fill" in spec:
        out = np.full(shape, float(spec["fill"]))
    elif "uniform" in spec:
        out = rng.uniform(*spec["uniform"], size=shape)
    else:
        out = rng.normal(*spec["normal"], size=shape)
    if "block_scale" in spec:
        out = out * np.repeat(np.asarray(spec["block_scale"], float), shape[0] // 4).reshape((-1,) + (1,) * (len(shape) - 1))
    return out


def default_parameter_spec(hidden_size: int) -> dict:
    """PyTorch's initialisation: U(-1/sqrt(H), 1/sqrt(H))."""
    k = 1.0 / np.sqrt(max(hidden_size, 1))
    return {"uniform": [-k, k]}


def check_materialize_memory(case: CaseSpec, dtype: str, max_memory: int | None = None) -> None:
    """SpecError when the arrays of `case` in `dtype` would exceed the memory limit (default:
    budget.max_case_memory()); nothing is allocated before this check."""
    limit = budget.max_case_memory() if max_memory is None else max_memory
    needed = budget.materialize_estimate(dtype, *budget.case_elements(case))
    if needed > limit:
        raise SpecError(case.file, case.id, "shape", budget.refusal(needed, limit, dtype))


def materialize(case: CaseSpec, dtype: str, max_memory: int | None = None) -> Problem:
    """The Problem of `case` in `dtype`. The case's values are range-checked and its arrays'
    memory estimated first (a SpecError, not an exception from NumPy), also for cases not made
    by the loader."""
    check_ranges(case)
    check_materialize_memory(case, dtype, max_memory)
    config = case.config
    T, B = case.shape["seq_len"], case.shape["batch"]
    seed = case.seed
    x = make_array(case.inputs.get("x", {"uniform": [-1.0, 1.0]}), input_shape(config, T, B), seed, "x")
    states = state_shapes(config, B)
    h0 = make_array(case.inputs.get("h0", "none"), states["h0"], seed, "h0")
    c0 = make_array(case.inputs.get("c0", "none"), states["c0"], seed, "c0")
    params = {}
    for name, shape in parameter_shapes(config).items():
        spec = default_parameter_spec(config.hidden_size)
        if name.startswith("layer_norm"):  # coefficients γ around 1 (TFLite / Keras start them at 1)
            spec = {"uniform": [0.5, 1.5]}
        for pattern, given in case.parameters.items():  # the last matching pattern wins
            if fnmatch.fnmatchcase(name, pattern):
                spec = given
        params[name] = make_array(spec, shape, seed, name)
    lengths = np.array(case.inputs["lengths"], dtype=np.int64) if "lengths" in case.inputs else None
    rnd = lambda a: None if a is None else round_to_dtype(a, dtype)  # noqa: E731
    return Problem(
        case_id=case.id, dtype=dtype, config=config, x=rnd(x), h0=rnd(h0), c0=rnd(c0), lengths=lengths,
        params={k: rnd(v) for k, v in params.items()}, group=case.group, tags=case.tags,
    )
