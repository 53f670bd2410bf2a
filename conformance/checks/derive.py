"""Derived problems and output slicing for the checks: time chunks, single rows, a permuted
batch, strided copies, different padding contents, wrong shapes.

Every function takes a Problem and returns a new one (the original is never modified); arrays
stay float64 with values representable in the problem's dtype, as the adapter contract says.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from ..spec.materialize import round_to_dtype
from ..spec.model import Problem, input_shape, padding_mask, state_shapes  # noqa: F401  (padding_mask: re-exported)


def derived(problem: Problem, **changes) -> Problem:
    """A copy of `problem` with some fields replaced."""
    return dataclasses.replace(problem, **changes)


def time_slice(problem: Problem, start: int, stop: int, h0=None, c0=None) -> Problem:
    """Steps start..stop-1 of the problem, starting from the given states."""
    ax = problem.config.time_axis
    x = np.take(problem.x, np.arange(start, stop), axis=ax)
    return derived(problem, x=x, h0=h0, c0=c0)


def concat_time(config, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.concatenate([first, second], axis=config.time_axis)


def select_rows(problem: Problem, rows) -> Problem:
    """The problem restricted to the batch rows `rows`, in that order (also h0, c0, lengths)."""
    rows = np.asarray(rows)
    bx = problem.config.batch_axis
    take_state = lambda s: None if s is None else np.take(s, rows, axis=1)  # noqa: E731
    return derived(problem, x=np.take(problem.x, rows, axis=bx), h0=take_state(problem.h0),
                   c0=take_state(problem.c0), lengths=None if problem.lengths is None else problem.lengths[rows])


def output_rows(config, outputs: dict, rows) -> dict:
    """The same rows of every output: y and c along their batch axis, h_n and c_n along axis 1."""
    rows = np.asarray(rows)
    bx = config.batch_axis
    out = {}
    for name, value in outputs.items():
        out[name] = np.take(value, rows, axis=1 if name in ("h_n", "c_n") else bx)
    return out


def strided_view(array: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """The same values as a non-contiguous view: every second element of a buffer twice as
    long in the last axis, with the first two axes swapped in memory when there are three.
    Strides stay positive and the view starts at offset 0 of its buffer, so even an
    implementation that wrongly reads it as contiguous stays inside the buffer."""
    if array is None or array.size == 0:
        return array
    shape = array.shape
    if array.ndim == 3:
        buffer = np.zeros((shape[1], shape[0], 2 * shape[2]))
        view = buffer.transpose(1, 0, 2)[:, :, ::2]
    else:
        buffer = np.zeros(shape[:-1] + (2 * shape[-1],))
        view = buffer[..., ::2]
    view[...] = array  # (an array of one element is contiguous whatever its strides)
    return view


def strided_problem(problem: Problem) -> Problem:
    """x, h0, c0 and every parameter as non-contiguous views with the same values."""
    return derived(problem, x=strided_view(problem.x), h0=strided_view(problem.h0), c0=strided_view(problem.c0),
                   params={k: strided_view(v) for k, v in problem.params.items()})


def repadded(problem: Problem, rng: np.random.Generator) -> Problem:
    """The problem with new values U(-4, 4) wherever x is padding (past a row's length)."""
    mask = padding_mask(problem)
    fill = rng.uniform(-4.0, 4.0, size=problem.x.shape)
    x = np.where(mask[..., None], round_to_dtype(fill, problem.dtype), problem.x)
    return derived(problem, x=x)


def with_seq_len(problem: Problem, seq_len: int) -> Problem:
    """x with `seq_len` steps (the first ones, or zeros beyond T); lengths dropped."""
    cfg = problem.config
    shape = input_shape(cfg, seq_len, problem.batch)
    x = np.zeros(shape)
    ax = cfg.time_axis
    keep = min(seq_len, problem.seq_len)
    index = [slice(None)] * x.ndim
    index[ax] = slice(0, keep)
    x[tuple(index)] = np.take(problem.x, np.arange(keep), axis=ax)
    return derived(problem, x=x, lengths=None)


def with_wider_input(problem: Problem) -> Problem:
    """x with input_size + 1 features (the extra column is ones), config unchanged."""
    x = np.concatenate([problem.x, np.ones(problem.x.shape[:-1] + (1,))], axis=-1)
    return derived(problem, x=x)


def with_wider_h0(problem: Problem) -> Problem:
    """h0 with one unit too many (c0 as given), config unchanged."""
    shape = state_shapes(problem.config, problem.batch)["h0"]
    h0 = np.zeros(shape) if problem.h0 is None else problem.h0
    return derived(problem, h0=np.concatenate([h0, np.zeros(h0.shape[:-1] + (1,))], axis=-1))


def with_array_dtypes(problem: Problem, array_dtypes: dict) -> Problem:
    """The problem with per-array dtypes (see adapter.array_dtype): e.g. x in float64 for a
    float32 problem. Values are rounded to the dtype each array will be given in."""
    return derived(problem, x=round_to_dtype(problem.x, array_dtypes.get("x", problem.dtype)),
                   array_dtypes=dict(array_dtypes))
