"""Input checks of the framework adapters (keras, flax) that the frameworks would not make.

The adapters cut the canonical arrays into one piece per layer and direction and hand the
pieces over, so a state with an extra layer slice, a parameter the configuration does not
have, or a length outside 1..T (which Flax's `seq_lengths` indexing wraps or clamps silently)
would be lost in the mapping instead of rejected. x, the states and the parameters are checked
as for every survey adapter (canonical_inputs.py); the lengths here. Each check raises
ValueError naming the array and the expected shape (SPEC.md §9).
"""
from __future__ import annotations

import numpy as np

from .canonical_inputs import check_problem


def check_canonical_inputs(problem) -> None:
    """Raise ValueError when x, a state, a parameter or the lengths do not fit the configuration."""
    check_problem(problem)
    if problem.lengths is not None:
        lengths = np.asarray(problem.lengths)
        if lengths.shape != (problem.batch,):
            raise ValueError(f"lengths has shape {lengths.shape}, expected one length per batch row ({problem.batch},)")
        if lengths.size and (lengths.min() < 1 or lengths.max() > problem.seq_len):
            raise ValueError(f"lengths must lie in 1..{problem.seq_len} (T); got {lengths.tolist()}")


def valid_steps(problem) -> np.ndarray:
    """Boolean (B, T) (or (T,) unbatched): True at the steps a row has (all True without lengths)."""
    steps = np.arange(problem.seq_len)
    lengths = problem.lengths if problem.lengths is not None else np.full(problem.batch, problem.seq_len)
    valid = steps[None, :] < np.asarray(lengths)[:, None]
    return valid[0] if problem.config.unbatched else valid
