"""metrics.compare_output takes shortcuts for speed (tiny arrays, where the NumPy calls are the
cost): an equality test by counting nonzero differences, max() read at argmax(), masks skipped
when they hold everywhere, spacings left in float32. Each must give the record the definitions
give, bit for bit; `plain` below computes them the direct way and fuzzed inputs (NaN/Inf,
-0.0, subnormals, values past float16/float32 range, views, every dtype) are held to it."""
import math
import struct

import numpy as np
import pytest

from lstm_conformance import metrics
from lstm_conformance.spec.model import LSTMConfig
from lstm_conformance.tolerances import TOLERANCES, Tolerance


def plain_ulp(values, dtype):
    mags = np.abs(np.asarray(values, dtype=np.float64))
    if dtype == "bfloat16":  # 8 significand bits: spacing 2^(exponent − 7), float32's exponent range
        return np.exp2(np.floor(np.log2(np.maximum(mags, np.finfo(np.float32).tiny))) - 7)
    if dtype != "float64":  # past float16/float32's range: the spacing at its largest number
        mags = np.minimum(mags, np.finfo(dtype).max)
    with np.errstate(over="ignore"):  # float16's spacing at 65504 is inf
        return np.spacing(mags.astype(dtype)).astype(np.float64)


def plain(name, expected, got, tol, dtype, config, axes=None):
    """compare_output's documented record, each number computed over whole arrays."""
    expected = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got)
    record = {"output": name, "shape": list(expected.shape), "atol": tol.atol, "rtol": tol.rtol}
    if got.shape != expected.shape:
        record.update(passed=False, message=f"{name} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}")
        return record
    got = got.astype(np.float64)
    with np.errstate(all="ignore"):
        same = (np.isnan(expected) & np.isnan(got)) | (np.isinf(expected) & (expected == got))
        diff = np.where(same, 0.0, np.where(np.isfinite(got), np.abs(got - expected), np.inf))
        allowed = np.where(same, 1.0, tol.atol + tol.rtol * np.abs(expected))
        significant = np.abs(expected) >= tol.atol
        rel = np.where(significant, diff / np.abs(expected), 0.0)
        ulps = np.where(significant, diff / plain_ulp(expected, dtype), 0.0)
        ratio = diff / allowed
        within = diff <= allowed
    if not diff.size:
        record.update(max_abs=0.0, max_rel=0.0, max_ulp=0.0, tolerance_used=0.0, passed=True)
        return record
    worst = np.unravel_index(int(np.argmax(ratio)), diff.shape)  # first maximum, or first NaN
    record.update(max_abs=float(diff.max()), max_rel=float(rel.max()), max_ulp=float(ulps.max()),
                  tolerance_used=float(ratio[worst]), passed=bool(within.all()))
    record["worst"] = {"index": {n: int(i) for n, i in zip(axes or metrics.axis_names(name, config), worst)},
                       "expected": float(expected[worst]), "got": float(got[worst]),
                       "abs_error": float(diff[worst])}
    if not record["passed"]:
        record["failing_elements"] = int(np.sum(~within))
        record["message"] = metrics.describe_failure(record)
    return record


def exact(value):
    """A comparable form that tells floats apart by their bits (any NaN equal to any NaN)."""
    if isinstance(value, dict):
        return [(k, exact(v)) for k, v in value.items()]  # key order too: reports are written in it
    if isinstance(value, list):
        return [exact(v) for v in value]
    if isinstance(value, float):
        return ("nan",) if math.isnan(value) else ("float", struct.pack("d", value))
    return (type(value).__name__, value)


SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0, 7e4, 1e38, 4e38, 1e300, 1.7e308, 1e-310, 5e-324, 65520.0]
SHAPES = [(), (1,), (5,), (2, 3), (3, 2, 4), (4, 1, 6)]
EMPTY = [(0,), (2, 0, 3)]
CONFIGS = [LSTMConfig(3, 4), LSTMConfig(3, 4, batch_first=True), LSTMConfig(3, 4, unbatched=True)]
NAMES = ["y", "h_n", "c_n", "grad x"]
# the suite's tolerances, and edges: atol 0 (no equality shortcut), rtol 0, tiny and huge
EXTRA_TOLERANCES = [Tolerance(0.0, 0.0), Tolerance(0.0, 1e-6), Tolerance(1e-8, 0.0), Tolerance(1e-300, 1e-300),
                    Tolerance(1e300, 1.0)]


def fuzzed_inputs(count, seed):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        shape = SHAPES[rng.integers(len(SHAPES))] if rng.random() < 0.95 else EMPTY[rng.integers(2)]
        scale = 10.0 ** rng.integers(-12, 8)
        expected = np.array(rng.standard_normal(shape) * scale)
        noise = 10.0 ** rng.integers(-18, 1) * (rng.random() < 0.8)  # 20%: got == expected
        got = np.array(expected + expected * rng.standard_normal(shape) * noise)
        if expected.size and rng.random() < 0.4:  # NaN/Inf/extremes in expected, got or both
            for arr in [(expected,), (got,), (expected, got)][rng.integers(3)]:
                arr[np.unravel_index(rng.integers(expected.size), shape)] = SPECIAL[rng.integers(len(SPECIAL))]
            if rng.random() < 0.3:
                got[~np.isfinite(expected)] = expected[~np.isfinite(expected)]  # the same NaN/Inf: agreement
        if expected.size and rng.random() < 0.2:  # exact zeros of either sign
            zero = rng.random(shape) < 0.5
            expected[zero], got[zero] = 0.0, -0.0 if rng.random() < 0.5 else 0.0
        if expected.ndim >= 2 and rng.random() < 0.3:  # F-order arrays: element i is still i in C order
            expected, got = [(np.asfortranarray(a) if rng.random() < 0.7 else a) for a in (expected, got)]
        if expected.ndim >= 1 and rng.random() < 0.2:  # a strided view
            wide = np.zeros(shape[:-1] + (2 * shape[-1],))
            wide[..., ::2] = expected
            expected = wide[..., ::2]
        if rng.random() < 0.03:
            got = got.reshape(-1)[:-1] if got.size else np.zeros(3)
        dtype = ["float64", "float32", "float16", "bfloat16"][rng.integers(4)]
        tol = TOLERANCES[dtype] if rng.random() < 0.6 else EXTRA_TOLERANCES[rng.integers(len(EXTRA_TOLERANCES))]
        axes = None if rng.random() < 0.7 else ("a", "b", "c")[:rng.integers(4)]
        yield NAMES[rng.integers(len(NAMES))], expected, got, tol, dtype, CONFIGS[rng.integers(3)], axes


@pytest.mark.parametrize("seed", [0, 1])
def test_compare_output_gives_the_records_of_the_definitions(seed):
    outcomes = set()
    for args in fuzzed_inputs(1500, seed):
        got = metrics.compare_output(*args)
        assert exact(got) == exact(plain(*args)), args
        outcomes.add((got["passed"], "worst" in got))
    assert outcomes == {(True, True), (False, True), (True, False), (False, False)}  # every kind of record met


def test_compare_output_on_equal_arrays_of_every_layout():
    # the equality shortcut: equal arrays, F-order against C-order, -0.0 against 0.0
    expected = np.arange(24.0).reshape(2, 3, 4) - 5.0
    got = np.asfortranarray(expected.copy())
    got[0, 0, 0] = -0.0 if expected[0, 0, 0] == 0 else got[0, 0, 0]
    for dtype, tol in TOLERANCES.items():
        for args in [("y", expected, got, tol, dtype, CONFIGS[0]), ("c_n", expected, got, tol, dtype, CONFIGS[1])]:
            record = metrics.compare_output(*args)
            assert record["passed"] and record["max_abs"] == 0.0
            assert exact(record) == exact(plain(*args))


def test_ulp_matches_the_definition_past_each_dtypes_range():
    values = np.array([0.0, -0.0, 5e-324, 1e-310, 1e-40, 1.0, -3.5, 65504.0, 65520.0, 7e4, 3.4e38, 4e38, 1e300])
    for dtype in ("float64", "float32", "float16", "bfloat16"):
        with np.errstate(over="ignore"):  # float16's spacing at 65504 overflows to inf
            got = metrics.ulp(values, dtype)
        assert got.dtype == np.float64
        assert exact(got.tolist()) == exact(plain_ulp(values, dtype).tolist())
