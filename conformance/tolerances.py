"""Tolerances per dtype: the one place they are defined (see SPEC.md, 'Tolerance policy').

An element passes when |got − expected| ≤ atol + rtol·|expected| (the numpy.isclose rule),
expected being the float64 reference run on the inputs rounded to the tested dtype.
The margins are a few orders above the rounding error of the dtype (unit roundoff u:
float64 1.1e-16, float32 6.0e-8, bfloat16 3.9e-3, float16 4.9e-4) times the growth of the
error over the longest library case, and well below what a real defect produces (a block of
gates in the wrong order, float16 computation of a float32 problem: errors ≥ 1e-3).
"""
from __future__ import annotations

from dataclasses import dataclass


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


def tolerance_for(dtype: str) -> Tolerance:
    try:
        return TOLERANCES[dtype]
    except KeyError:
        raise ValueError(f"no tolerance for dtype {dtype!r}; known: {', '.join(TOLERANCES)}") from None
