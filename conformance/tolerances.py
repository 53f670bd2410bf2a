"""Tolerances per dtype and check: the one place they are defined (SPEC.md, 'Tolerance policy'
and 'Tolerance calibration').

An element passes when |got − expected| ≤ atol + rtol·|expected| (the numpy.isclose rule),
expected being the float64 reference run on the inputs rounded to the tested dtype (for the
consistency checks: the implementation's own plain run).

Calibration (conformance/calibration.py; re-measured by tests/checks/test_tolerances.py):
numpy, torch-cell, torch-lstm and the example adapter, every check, the whole library, CPU,
PyTorch 2.13, NumPy. `used` is the largest max |error| / (atol + rtol·|expected|) over all
compared arrays, so the margin is 1 / used:

    check               dtype      largest abs error   used      margin
    forward             float64    1.4e-14             3.9e-05   > 10^4
    forward             float32    4.1e-05 (c ≈ 200)   0.042     24×
    gradients           float64    1.7e-13             4.7e-05   > 10^4
    gradients           float32    2.1e-04 (scaled)    0.096     10×   (cell-grows-linearly: σ'(20)
                                                                        is 0 in float32, 2e-9 in float64)
    dtypes (T ≤ 50)     float16    5.1e-03             0.088     11×
    dtypes (T ≤ 50)     bfloat16   6.3e-02             0.134     7.4×
    state-chaining      float32    1.8e-07             0.006     166×
    batch-independence  float32    9.5e-07             0.022     46×
    strided             float32    3.0e-08             0.0008    > 10^3
    padding-invariance  both       0 (bit-identical)   0

Policy: every tolerance keeps a margin of at least MIN_MARGIN over the measured maximum, and
stays tight enough for what it must catch: in float32 one element off by 1e-3 relative fails
wherever |y| > atol / (1e-3 − rtol) ≈ 0.022, and a float16 computation (errors near 1e-3)
fails float32 and float64. float64 keeps 1e-10 / 1e-9, far above its measured 1e-14: it
must hold for any correct float64 implementation (other summation orders, cuDNN, T = 1000),
and a float32 computation of a float64 problem (errors near 1e-7) still fails it.
"""
from __future__ import annotations

from dataclasses import dataclass

MIN_MARGIN = 5.0  # the smallest measured-to-tolerance margin the calibration test accepts


@dataclass(frozen=True)
class Tolerance:
    atol: float
    rtol: float

    def as_dict(self) -> dict:
        return {"atol": self.atol, "rtol": self.rtol}


TOLERANCES = {
    "float64": Tolerance(atol=1e-10, rtol=1e-9),
    "float32": Tolerance(atol=2e-5, rtol=1e-4),
    "bfloat16": Tolerance(atol=5e-2, rtol=5e-2),
    "float16": Tolerance(atol=1e-2, rtol=1e-2),
}


# Gradients: atol is multiplied by max(1, max |expected|) of each gradient array, because a
# parameter gradient sums T·B terms and its scale grows with them (see gradient_tolerance).
# Half precision measured at T ≤ 50 (largest error float16 0.029, bfloat16 0.15); over
# hundreds of steps bfloat16 gradients drift past any useful tolerance (1.6 × these at T = 300),
# so a half-precision case with gradients should stay short.
GRADIENT_TOLERANCES = {
    "float64": Tolerance(atol=1e-10, rtol=1e-9),
    "float32": Tolerance(atol=2.5e-4, rtol=1e-4),
    "bfloat16": Tolerance(atol=1.5e-1, rtol=5e-2),
    "float16": Tolerance(atol=4e-2, rtol=1e-2),
}

# Checks comparing an implementation with itself (state-chaining, batch-independence,
# padding-invariance, strided: a chunked, row-wise, re-padded or strided run against its own
# plain run) use the forward table: their measured errors are far smaller, and a defect they
# exist for (shared state, ignored strides) is large.

BY_CHECK = {"gradients": GRADIENT_TOLERANCES}


def tolerance_for(dtype: str, check: str = "forward") -> Tolerance:
    table = BY_CHECK.get(check, TOLERANCES)
    try:
        return table[dtype]
    except KeyError:
        raise ValueError(f"no tolerance for dtype {dtype!r}; known: {', '.join(table)}") from None


def literal_tolerance(dtype: str) -> Tolerance:
    """What a literal expectation (a case's `expect:`) allows beyond its own rule in `dtype`:
    the forward tolerance. A literal is a float64 fact about the exact result; an
    implementation within the forward tolerance of the reference is within this of it."""
    return tolerance_for(dtype, "forward")


def gradient_tolerance(dtype: str, expected_max_abs: float) -> Tolerance:
    """The gradient tolerance for one array whose largest |expected| element is expected_max_abs."""
    base = tolerance_for(dtype, "gradients")
    return Tolerance(atol=base.atol * max(1.0, float(expected_max_abs)), rtol=base.rtol)
