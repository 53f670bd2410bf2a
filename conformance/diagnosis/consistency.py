"""Diagnosis of the other checks: the derived runs of state-chaining, batch-independence,
strided and padding-invariance diagnosed as the forward check's run (one defect, one group in
the summary); determinism's run-to-run noise; dtypes' upcast outputs; what an accepted invalid
input computed."""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from ..defects import named
from ..metrics import failing_mask, ulp
from ..spec.materialize import round_to_dtype
from ..spec.model import OUTPUTS, Problem
from ..tolerances import tolerance_for
from .forward import _BITS, diagnose_forward, diagnose_outputs
from .messages import _verdict
from .rerun import _reference


def diagnose_runs(run, derived: list) -> Optional[dict]:
    """A consistency check (state chaining, batch independence, strided inputs, padding)
    failed: the implementation's runs on problems derived from the case disagree. Each run
    that deviates from the reference on its own problem, the case's first, then the derived
    (problem, outputs) pairs, is diagnosed as the forward check would; the first diagnosis
    that names a defect is the record's (so one defect is one group in the summary, whichever
    check met it), else the first diagnosis; None when every run agrees with the reference."""
    tol = tolerance_for(run.dtype)
    first = None
    for problem, got in [(run.problem, run.outputs)] + list(derived):
        reference = run.cache.get(problem)
        names = [n for n in OUTPUTS if n in got and n in reference]
        if not any(np.shape(got[n]) != np.shape(reference[n]) or failing_mask(reference[n], got[n], tol).any()
                   for n in names):
            continue
        diagnosis = diagnose_outputs(run) if problem is run.problem else diagnose_forward(problem, got, reference, tol)
        if diagnosis["patterns"]:
            return diagnosis
        first = first or diagnosis
    return first


def diagnose_repeated_runs(first: dict, again: list, dtype: str) -> Optional[dict]:
    """Runs of the same inputs differ: noise, when every value is finite and every difference
    is small next to its output's scale (at most 10⁻⁶ of its largest |value|): an unordered
    reduction or a race, not a run that went another way."""
    count, total, spread, spread_ulp = 0, 0, 0.0, 0.0
    for other in again:
        for name in sorted(set(first) & set(other)):
            a, b = np.asarray(first[name], np.float64), np.asarray(other[name], np.float64)
            if a.shape != b.shape or not (np.isfinite(a).all() and np.isfinite(b).all()):
                return None
            differ = a != b
            if not differ.any():
                continue
            diff = np.abs(a - b)[differ]
            if diff.max() > 1e-6 * float(np.max(np.abs(a))):
                return None
            count, total = count + int(differ.sum()), total + a.size
            spread = max(spread, float(diff.max()))
            spread_ulp = max(spread_ulp, float(np.max(diff / ulp(a[differ], dtype))))
    if not count:
        return None
    where = {"runs": {"differing_values": count, "of": total, "max_abs": spread, "max_ulp": spread_ulp}}
    return _verdict([named("runs-differ-by-noise")], where)


def diagnose_output_dtypes(problem: Problem, outputs: dict, output_dtypes: dict, reference: dict) -> Optional[dict]:
    """Outputs of a wider dtype than the inputs' whose values match the reference within the
    wider dtype's tolerance while they are not all numbers of the inputs' dtype: computed in
    the wider dtype and returned without the cast back. Outputs of a narrower dtype: computed
    in it."""
    other = {d for d in output_dtypes.values() if d != problem.dtype}
    if len(other) != 1:
        return None
    got = next(iter(other))
    if got in _BITS and _BITS[got] < _BITS.get(problem.dtype, 0):
        # narrower outputs hold only numbers of their dtype: computed in it (or cast at the end)
        return _verdict([named("computed-in", dtype=got)])
    if _BITS.get(got, 0) <= _BITS.get(problem.dtype, 64):
        return None
    names = [n for n in OUTPUTS if n in outputs and n in reference]
    tol = tolerance_for(got)
    if not names or any(np.shape(outputs[n]) != np.shape(reference[n]) or failing_mask(reference[n], outputs[n], tol)
                        .any() for n in names):
        return None
    values = np.concatenate([np.ravel(outputs[n]) for n in names])
    if (round_to_dtype(values, problem.dtype) == values).all():
        return None  # numbers of the inputs' dtype: only the container is wider
    return _verdict([named("outputs-upcast", got=got, dtype=problem.dtype)])


def diagnose_accepted_inputs(accepted: list, dtype: str, empty_answer: Callable) -> Optional[dict]:
    """Invalid inputs an implementation returned outputs for, as (problem, outputs) pairs:
    what it computed instead of raising. T = 0 answered with a zero state (the accepted
    answer, `empty_answer(problem)`, of the problem without its initial state), an h0 too
    wide truncated to its configured units (the reference on that h0), x in another dtype
    converted (the reference on x's values)."""
    tol = tolerance_for(dtype)
    patterns = []

    def matches(model: Optional[dict], got: dict, correct: Optional[dict] = None) -> bool:
        if model is None:
            return False
        names = [n for n in OUTPUTS if n in got and n in model]
        if not names or any(np.shape(got[n]) != np.shape(model[n]) or failing_mask(model[n], got[n], tol).any()
                            for n in names):
            return False
        return correct is None or any(np.shape(correct[n]) != np.shape(model[n])
                                      or failing_mask(correct[n], model[n], tol).any() for n in names if n in correct)

    for problem, got in accepted:
        config = problem.config
        if problem.seq_len == 0 and (problem.h0 is not None or problem.c0 is not None):
            stateless = dataclasses.replace(problem, h0=None, c0=None)
            if matches(empty_answer(stateless), got, empty_answer(problem)):
                patterns.append(named("empty-sequence-zero-state"))
        elif problem.h0 is not None and problem.h0.shape[-1] > config.output_size:
            try:
                model = _reference(problem, h0=problem.h0[..., :config.output_size])
            except ValueError:
                continue
            if matches(model, got):
                patterns.append(named("h0-truncated"))
        elif problem.array_dtypes.get("x", dtype) != dtype:
            try:
                model = _reference(problem)
            except ValueError:
                continue
            if matches(model, got):
                patterns.append(named("mixed-dtypes-converted"))
    return _verdict(patterns) if patterns else None
