"""Compare one output with the reference: abs, rel and ULP error, and where the worst element is."""
from __future__ import annotations

import math

import numpy as np

from .spec.model import LSTMConfig
from .tolerances import Tolerance


def axis_names(output: str, config: LSTMConfig) -> tuple[str, ...]:
    """Names of the axes of an output, for reporting the worst element's position."""
    if output in ("h_n", "c_n"):
        return ("layer_dir", "unit") if config.unbatched else ("layer_dir", "b", "unit")
    if config.unbatched:
        return ("t", "unit")
    return ("b", "t", "unit") if config.batch_first else ("t", "b", "unit")


def ulp(values: np.ndarray, dtype: str) -> np.ndarray:
    """Spacing of `dtype` floats at |values| (the size of one unit in the last place)."""
    return _ulp_at(np.abs(values), dtype)


_LARGEST = {dtype: float(np.finfo(dtype).max) for dtype in ("float16", "float32")}


def _ulp_at(mags: np.ndarray, dtype: str) -> np.ndarray:
    """ulp() of magnitudes already taken (|values| ≥ 0)."""
    if dtype in _LARGEST:  # beyond the dtype's range the spacing of its largest number
        mags = np.minimum(mags, _LARGEST[dtype])
    if dtype == "bfloat16":
        exponent = np.floor(np.log2(np.maximum(mags, np.finfo(np.float32).tiny)))
        return np.exp2(exponent - 7)
    return np.spacing(mags.astype(dtype, copy=False)).astype(np.float64, copy=False)


def compare_output(name: str, expected: np.ndarray, got: np.ndarray, tol: Tolerance, dtype: str,
                   config: LSTMConfig, axes: tuple | None = None) -> dict:
    """Metrics of one output; `passed` is False on a shape mismatch, NaN/Inf, or tolerance excess.

    max_abs, max_rel, max_ulp: the largest errors (rel and ULP only where |expected| ≥ atol;
    ULPs of `dtype` at |expected|); tolerance_used: max |error| / (atol + rtol·|expected|), so 1.0 is
    the edge of the tolerance (calibration reads it). `axes` names the axes (default: by output name)."""
    expected = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got)
    record = {"output": name, "shape": list(expected.shape), "atol": tol.atol, "rtol": tol.rtol}
    if got.shape != expected.shape:
        record.update(passed=False, message=f"{name} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
        return record
    got = np.asarray(got, dtype=np.float64)
    # common (determinism, exact results): every element the same finite number
    if tol.atol > 0 and got.size and not (got != expected).any() and np.isfinite(expected).all():
        return _agreeing(record, name, expected, got, config, axes)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # NaN/Inf are measured, not warned
        return _compare(record, name, expected, got, tol, dtype, config, axes)


def _agreeing(record, name, expected, got, config, axes) -> dict:
    """The record _compare makes when got == expected, finite, in every element, in fewer
    steps: every error is 0, so with atol > 0 the tolerance holds with none of it used, and the
    worst element is the first (the argmax of zeros)."""
    first = (0,) * expected.ndim
    record.update(max_abs=0.0, max_rel=0.0, max_ulp=0.0, tolerance_used=0.0, passed=True)
    record["worst"] = {"index": {n: int(i) for n, i in zip(axes or axis_names(name, config), first)},
                       "expected": float(expected[first]), "got": float(got[first]), "abs_error": 0.0}
    return record


def _compare(record, name, expected, got, tol, dtype, config, axes) -> dict:
    magnitude = np.abs(expected)
    delta = got - expected
    if math.isfinite(delta.sum()):  # every element finite (an overflowing sum only takes the general way)
        # got and expected finite everywhere: no NaN/Inf to mark or forgive, so the general way's
        # masks would change nothing (the same numbers, fewer NumPy calls on these tiny arrays)
        diff = np.abs(delta)
        allowed = tol.atol + tol.rtol * magnitude
    else:
        diff = np.where(np.isfinite(got), np.abs(delta), np.inf)  # NaN or Inf where a number was expected
        same = _same_special(expected, got)  # NaN where NaN is expected: agreement
        diff = np.where(same, 0.0, diff)
        allowed = np.where(same, 1.0, tol.atol + tol.rtol * magnitude)
    significant = magnitude >= tol.atol  # relative error is meaningless near zero
    within = diff <= allowed
    ratio = diff / allowed
    flat_worst = int(ratio.argmax()) if diff.size else None  # where ratio.max() is (the first NaN, if any)
    record.update(
        max_abs=float(diff.max()) if diff.size else 0.0,
        max_rel=float(np.where(significant, diff / magnitude, 0.0).max()) if diff.size else 0.0,
        # ULPs, like rel, only where |expected| ≥ atol: near zero the spacing is subnormal-tiny
        max_ulp=float(np.where(significant, diff / _ulp_at(magnitude, dtype), 0.0).max()) if diff.size else 0.0,
        tolerance_used=float(ratio.flat[flat_worst]) if diff.size else 0.0,
        passed=bool(within.all()),
    )
    if diff.size:
        worst = np.unravel_index(flat_worst, diff.shape)
        names = axes or axis_names(name, config)
        record["worst"] = {
            "index": {n: int(i) for n, i in zip(names, worst)},
            "expected": float(expected[worst]),
            "got": float(got[worst]),
            "abs_error": float(diff[worst]),
        }
        if not record["passed"]:
            record["failing_elements"] = int(diff.size - np.count_nonzero(within))
            record["message"] = describe_failure(record)
    return record


def describe_failure(record: dict) -> str:
    worst = record["worst"]
    where = ", ".join(f"{k}={v}" for k, v in worst["index"].items())
    return (f"{record['output']}[{where}]: expected {worst['expected']:.9g}, got {worst['got']:.9g} "
            f"(abs error {worst['abs_error']:.3g} > atol {record['atol']:g} + rtol {record['rtol']:g}·|expected|; "
            f"{record['failing_elements']} of {int(np.prod(record['shape']))} elements out of tolerance)")


def failing_mask(expected: np.ndarray, got: np.ndarray, tol: Tolerance) -> np.ndarray:
    """Elements out of tolerance (NaN/Inf where a number is expected count as out)."""
    expected = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(np.isfinite(got), np.abs(got - expected), np.inf)
        same = _same_special(expected, got)
        return ~(same | (diff <= tol.atol + tol.rtol * np.abs(expected)))


def _same_special(expected: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Both NaN, or the same infinity, in an element: agreement, not an error (two runs of one
    implementation that both give NaN there agree; "expected nan, got nan" is no failure)."""
    return (np.isnan(expected) & np.isnan(got)) | (np.isinf(expected) & (expected == got))


def worst_of(comparisons: list[dict]) -> dict:
    """The largest max_abs, max_rel, max_ulp and tolerance_used over comparison records."""
    out = {}
    for key in ("max_abs", "max_rel", "max_ulp", "tolerance_used"):
        values = [c[key] for c in comparisons if c.get(key) is not None]
        out[key] = max(values) if values else None
    return out
