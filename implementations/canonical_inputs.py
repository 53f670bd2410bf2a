"""Input checks and state helpers shared by the adapters of real implementations (survey).

The real implementations take their own layouts, so an adapter builds their weights from the
canonical names the configuration has, and cuts the canonical states into the library's. A
parameter the configuration does not have, a missing one, or a state with an extra layer
slice would then be dropped or fail obscurely: these checks refuse it by name first (SPEC.md
§9), as the implementation never sees the canonical arrays. Each raises ValueError naming the
case, the array and what was expected.
"""
from __future__ import annotations

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


def check_x(problem: Problem) -> None:
    """Raise ValueError unless x has rank 3 ((T, B, I) or (B, T, I)), or 2 unbatched, and
    input_size features."""
    cfg = problem.config
    rank = 2 if cfg.unbatched else 3
    if np.ndim(problem.x) != rank or np.shape(problem.x)[-1] != cfg.input_size:
        raise ValueError(f"{problem.case_id}: x has shape {np.shape(problem.x)}, expected rank {rank} with "
                         f"{cfg.input_size} features")


def check_states(problem: Problem) -> None:
    """Raise ValueError when a given h0 or c0 is not of the shape SPEC.md §6 gives it in full:
    (L·D, B, ·), or (L·D, ·) unbatched."""
    shapes = state_shapes(problem.config, problem.batch)
    for name, value in (("h0", problem.h0), ("c0", problem.c0)):
        if value is not None and tuple(np.shape(value)) != shapes[name]:
            raise ValueError(f"{problem.case_id}: {name} has shape {np.shape(value)}, expected {shapes[name]}")


def states_or_zeros(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """(h0, c0) as given, a missing one as zeros of its shape (SPEC.md §6), after checking the
    shape of a given one in full."""
    check_states(problem)
    shapes = state_shapes(problem.config, problem.batch)
    h0, c0 = (np.zeros(shapes[name]) if value is None else np.asarray(value)
              for name, value in (("h0", problem.h0), ("c0", problem.c0)))
    return h0, c0


def check_problem(problem: Problem) -> None:
    """Raise ValueError unless x, the given states and the parameters fit the configuration."""
    check_x(problem)
    check_states(problem)
    check_parameters(problem)
