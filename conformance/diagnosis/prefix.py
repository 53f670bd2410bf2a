"""Screening a problem's defect models on its first steps.

Re-running ~80 defect models over the whole sequence is most of a diagnosis' time. Most models
are causal: in a problem of one direction running forward in time, their y and c at steps
0..k-1 are what they compute on x[:k] alone (the same operations on the same numbers, so the
same values); in one running in reverse without lengths, the same holds for its last k steps
and x[T-k:]. A model that does not reproduce the implementation's y and c on those steps
cannot reproduce them on all T, so it is rejected after k steps; the models that pass, and
those about the end of the sequence or about its whole (time reversed, a step skipped or
repeated, h_n taken from step k, axes swapped, strides ignored), run in full as before. The
verdicts are the same; only the rejected models' cost shrinks.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from ..metrics import failing_mask
from ..spec.model import Problem
from ..tolerances import Tolerance
from .rerun import _reference

MIN_STEPS_TO_SCREEN = 2  # a problem of one step runs every model in full


def prefix_steps(seq_len: int) -> int:
    """The steps a model is screened on: 1 up to T = 15, up to 16 for long problems. A model
    re-run costs about four steps' time besides its steps (measured), so one step already
    halves the cost of rejecting a model of a T = 5 problem; a model whose defect first shows
    after those steps passes and is run in full."""
    return min(16, max(1, seq_len // 8))

# Defects whose model, in a problem of one direction, computes y and c at a step from the
# inputs at the steps its direction has run so far only, the same way whatever T is.
CAUSAL = frozenset({
    "gate-blocks-swapped", "gate-order", "gate-blocks-swapped-in", "biases-dropped", "hidden-bias-dropped",
    "input-bias-dropped", "initial-state-ignored", "h0-ignored", "c0-ignored", "h0-c0-swapped",
    "gate-forced-to-one", "gate-forced-to-zero", "sigmoid-overflows", "activation-computed-as",
    "no-cell-output-activation", "forget-path-dropped", "cell-state-clipped", "batch-rows-share-state",
    "padding-processed", "peepholes-ignored", "output-peephole-state", "input-forget-ignored",
    "forget-bias-ignored", "cell-clip-ignored", "cell-clip-gates-only", "cell-clip-psi-only", "cell-clip-on-state",
    "activation-ignored", "activation-parameters-ignored", "activations-ignored", "onnx-alpha-by-position",
    "padding-carry-ignored", "state-clip-ignored", "proj-clip-ignored", "layer-norm-ignored",
    "layer-norm-coefficients-ignored", "num-layers-ignored", "lengths-ignored",
})


def time_window(problem: Problem, window: np.ndarray) -> Problem:
    """The problem cut to the steps `window` (a prefix, or a suffix without lengths; each
    row's length at most the window's)."""
    x = np.take(problem.x, window, axis=problem.config.time_axis)
    lengths = None if problem.lengths is None else np.minimum(problem.lengths, len(window))
    return dataclasses.replace(problem, x=x, lengths=lengths)


def screened_window(problem: Problem) -> Optional[np.ndarray]:
    """The steps a problem's models are screened on, or None when it is not screened: the
    first steps of one forward direction, the last of one reverse direction without lengths."""
    config, T = problem.config, problem.seq_len
    if T < MIN_STEPS_TO_SCREEN or config.num_directions != 1:
        return None
    steps = prefix_steps(T)
    if not config.runs_reverse(0):
        return np.arange(steps)
    return np.arange(T - steps, T) if problem.lengths is None else None


class PrefixScreen:
    """may_reproduce(name): False when the model named so is causal and its y and c on the
    screened steps already disagree with `got`'s (within `loose`); True otherwise."""

    def __init__(self, problem: Problem, got: dict, reference: dict, loose: Tolerance,
                 variants: Callable[[Problem, dict], list]):
        self.loose = loose
        self.models: dict = {}
        self.got: dict = {}
        window = screened_window(problem)
        if window is None:
            return
        axis = problem.config.time_axis
        self.got = {n: np.take(got[n], window, axis=axis) for n in ("y", "c")
                    if n in got and n in reference and np.shape(got[n]) == np.shape(reference[n])}
        if not self.got:
            return
        short = time_window(problem, window)
        try:
            short_reference = _reference(short)
        except (ValueError, FloatingPointError):
            return
        seen = {}
        for name, make in variants(short, short_reference):
            if getattr(name, "defect_id", None) in CAUSAL:
                seen[str(name)] = None if str(name) in seen else make  # a name given twice: not screened
        self.models = {name: make for name, make in seen.items() if make is not None}

    def may_reproduce(self, name) -> bool:
        make = self.models.get(str(name))
        if make is None or getattr(name, "defect_id", None) not in CAUSAL:
            return True
        try:
            short = make()
        except (ValueError, FloatingPointError):
            return True  # undefined on the prefix: the full model decides
        for n, got in self.got.items():
            if n not in short or np.shape(short[n]) != np.shape(got):
                return True
            if failing_mask(short[n], got, self.loose).any():
                return False
        return True


def screen_for(problem: Problem, got: dict, reference: dict, loose: Tolerance,
               variants: Callable[[Problem, dict], list]) -> Optional[PrefixScreen]:
    screen = PrefixScreen(problem, got, reference, loose, variants)
    return screen if screen.models else None
