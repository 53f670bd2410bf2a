"""Input checks and state helpers shared by the adapters of real implementations (survey).

The real implementations take their own layouts, so an adapter builds their weights from the
canonical names the configuration has. A parameter the configuration does not have, or a
missing one, would then be dropped or fail obscurely: `check_parameters` refuses it by name
first (SPEC.md §9), as the implementation never sees the canonical dictionary.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..spec.model import Problem, parameter_shapes, state_shapes


def check_parameters(problem: Problem) -> None:
    """Raise ValueError when problem.params are not exactly the configuration's (SPEC.md §5)."""
    expected = parameter_shapes(problem.config)
    given = set(problem.params)
    if given != set(expected):
        extra, missing = sorted(given - set(expected)), sorted(set(expected) - given)
        raise ValueError(f"{problem.case_id}: parameters do not fit the configuration: "
                         f"unexpected {extra or 'none'}, missing {missing or 'none'}")
    for name, shape in expected.items():
        if tuple(np.shape(problem.params[name])) != shape:
            raise ValueError(f"{problem.case_id}: {name} has shape {np.shape(problem.params[name])}, expected {shape}")


def states_or_zeros(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """(h0, c0) as given, a missing one as zeros of its shape (SPEC.md §6), after checking the
    shape of a given one in full."""
    shapes = state_shapes(problem.config, problem.batch)
    out = []
    for name, value in (("h0", problem.h0), ("c0", problem.c0)):
        if value is None:
            out.append(np.zeros(shapes[name]))
        elif tuple(np.shape(value)) != shapes[name]:
            raise ValueError(f"{problem.case_id}: {name} has shape {np.shape(value)}, expected {shapes[name]}")
        else:
            out.append(np.asarray(value))
    return out[0], out[1]


def optional(array: Optional[np.ndarray], dtype) -> Optional[np.ndarray]:
    return None if array is None else np.asarray(array).astype(dtype)
