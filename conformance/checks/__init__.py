"""The named checks the runner applies to every applicable case and adapter.

Each module holds one check (see base.py for the interface); CHECKS lists them in the order
their records are produced. `select_checks` turns names from the command line into checks.
"""
from __future__ import annotations

from .base import CaseRun, ReferenceCache
from .batch import BatchIndependenceCheck
from .chaining import StateChainingCheck
from .determinism import DeterminismCheck
from .dtypes import DtypesCheck
from .errors import ErrorsCheck
from .forward import ForwardCheck
from .gradients import GradientsCheck
from .padding import PaddingInvarianceCheck
from .strided import StridedCheck
from .training import TrainingParityCheck

CHECKS = {check.name: check for check in (
    ForwardCheck(), ErrorsCheck(), GradientsCheck(), StateChainingCheck(), BatchIndependenceCheck(),
    PaddingInvarianceCheck(), DeterminismCheck(), StridedCheck(), DtypesCheck(), TrainingParityCheck())}

CHECK_NAMES = tuple(CHECKS)


def select_checks(names=None) -> list:
    """The checks with these names (default: all), in CHECKS order; ValueError for an unknown name."""
    if not names:
        return list(CHECKS.values())
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check {', '.join(map(repr, unknown))}; known: {', '.join(CHECKS)}")
    return [check for name, check in CHECKS.items() if name in names]


__all__ = ["CHECKS", "CHECK_NAMES", "CaseRun", "ReferenceCache", "select_checks"]
