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
    return _spacing(mags, dtype).astype(np.float64, copy=False)


def _spacing(mags: np.ndarray, dtype: str) -> np.ndarray:
    """_ulp_at's values, left in float16/float32 for those dtypes: a float64 array divided by
    them is promoted to float64, which holds them exactly, so it equals the division by
    _ulp_at's values without the cast."""
    if dtype == "float64":
        return np.spacing(mags)
    if dtype in _LARGEST:  # beyond the dtype's range the spacing of its largest number
        return np.spacing(np.minimum(mags, _LARGEST[dtype]).astype(dtype))
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
    if not got.size:  # nothing to compare: no error, and nothing out of tolerance
        record.update(max_abs=0.0, max_rel=0.0, max_ulp=0.0, tolerance_used=0.0, passed=True)
        return record
    return _compare(record, name, expected, got, tol, dtype, config, axes)


# These run on ~50,000 mostly tiny arrays per library run and mutation score, where the cost is
# the number of NumPy calls, not the arithmetic: each step below takes the cheapest call that
# gives the same numbers (the reasons in the comments; tests/checks/test_metrics_equivalence.py
# holds them to a plain implementation of the same definitions).

@np.errstate(invalid="ignore", over="ignore", divide="ignore")  # NaN/Inf are measured, not warned
def _compare(record, name, expected, got, tol, dtype, config, axes) -> dict:
    delta = got - expected
    # every difference ±0 means got == expected, finite, in every element (Inf − Inf and NaN give
    # NaN, which counts as nonzero); the common case of determinism and exact results
    if tol.atol > 0 and not np.count_nonzero(delta):
        return _agreeing(record, name, expected, got, config, axes)
    magnitude = np.abs(expected)
    diff = np.abs(delta)
    max_abs = _largest(diff)
    if math.isfinite(max_abs):  # every difference finite, so got and expected finite everywhere:
        # no NaN/Inf to mark or forgive, the general way's masks would change nothing
        allowed = tol.atol + tol.rtol * magnitude
    else:
        diff = np.where(np.isfinite(got), diff, np.inf)  # NaN or Inf where a number was expected
        same = _same_special(expected, got)  # NaN where NaN is expected: agreement
        diff = np.where(same, 0.0, diff)
        allowed = np.where(same, 1.0, tol.atol + tol.rtol * magnitude)
        max_abs = _largest(diff)
    significant = magnitude >= tol.atol  # relative error is meaningless near zero
    everywhere = np.count_nonzero(significant) == significant.size
    within = int(np.count_nonzero(diff <= allowed))
    ratio = diff / allowed
    flat_worst = int(ratio.argmax())  # where ratio's maximum is (the first NaN, if any)
    record.update(
        max_abs=max_abs,
        max_rel=_largest_where(significant, everywhere, diff / magnitude),
        # ULPs, like rel, only where |expected| ≥ atol: near zero the spacing is subnormal-tiny
        max_ulp=_largest_where(significant, everywhere, diff / _spacing(magnitude, dtype)),
        tolerance_used=ratio.item(flat_worst),
        passed=within == diff.size,
    )
    names = axes or axis_names(name, config)
    record["worst"] = {
        "index": dict(zip(names, _unravel(flat_worst, diff.shape))),
        "expected": expected.item(flat_worst),  # item(i): the i-th element in C order, as a float
        "got": got.item(flat_worst),
        "abs_error": diff.item(flat_worst),
    }
    if not record["passed"]:
        record["failing_elements"] = diff.size - within
        record["message"] = describe_failure(record)
    return record


def _agreeing(record, name, expected, got, config, axes) -> dict:
    """The record _compare makes when got == expected, finite, in every element, in fewer
    steps: every error is 0, so with atol > 0 the tolerance holds with none of it used, and the
    worst element is the first (the argmax of zeros)."""
    record.update(max_abs=0.0, max_rel=0.0, max_ulp=0.0, tolerance_used=0.0, passed=True)
    record["worst"] = {"index": {n: 0 for n, _ in zip(axes or axis_names(name, config), expected.shape)},
                       "expected": expected.item(0), "got": got.item(0), "abs_error": 0.0}
    return record


def _largest(values: np.ndarray) -> float:
    """values.max() of a nonempty array, in one C call instead of .max()'s Python wrappers: the
    first maximum (or first NaN, which max() returns too). The errors here are never −0.0, so
    the element found is the same number as max()'s."""
    return values.item(values.argmax())


def _largest_where(mask: np.ndarray, everywhere: bool, values: np.ndarray) -> float:
    """np.where(mask, values, 0.0).max() (errors ≥ 0 or NaN); without the np.where when the
    mask holds everywhere."""
    return _largest(values if everywhere else np.where(mask, values, 0.0))


def _unravel(flat: int, shape: tuple) -> tuple:
    """np.unravel_index(flat, shape) (C order) in plain Python: a few divmods on tiny shapes."""
    index = []
    for size in reversed(shape):
        flat, i = divmod(flat, size)
        index.append(i)
    return tuple(reversed(index))


def describe_failure(record: dict) -> str:
    worst = record["worst"]
    where = ", ".join(f"{k}={v}" for k, v in worst["index"].items())
    return (f"{record['output']}[{where}]: expected {worst['expected']:.9g}, got {worst['got']:.9g} "
            f"(abs error {worst['abs_error']:.3g} > atol {record['atol']:g} + rtol {record['rtol']:g}·|expected|; "
            f"{record['failing_elements']} of {math.prod(record['shape'])} elements out of tolerance)")


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
