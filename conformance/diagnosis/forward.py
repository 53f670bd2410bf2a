"""Diagnosis of the forward check: which defect model reproduces the outputs, else computed in
a narrower dtype, rounded per operation, or y written wrong while the recurrence is right."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..defects import named
from ..metrics import failing_mask
from ..reference import activations
from ..reference.forward import to_time_major
from ..spec.materialize import round_to_dtype
from ..spec.model import ACTIVATION_ROLES, OUTPUTS, Problem
from ..tolerances import Tolerance, tolerance_for
from .forward_models import _one_name_per_defect, forward_variants
from .messages import _ids, _summary
from .prefix import screen_for
from .rerun import forward_with
from .where import locate_outputs

MATCH_FACTOR = 4.0  # a pattern reproduces the outputs within this multiple of the tolerance
_BITS = {"float16": 16, "bfloat16": 16, "float32": 32, "float64": 64}  # the float dtypes by width
MAX_STEPS_FOR_PATTERNS = 2000  # T·L·D above which re-running ~40 variants is not worth the time


def _reproduces(variant: dict, got: dict, reference: dict, tol: Tolerance) -> bool:
    """The variant explains `got`: it matches on every output both have, and differs from
    the reference somewhere (else it explains nothing on this problem)."""
    loose = Tolerance(tol.atol * MATCH_FACTOR, tol.rtol * MATCH_FACTOR)
    names = [n for n in OUTPUTS if n in got and n in variant]
    if not names or any(np.shape(got[n]) != np.shape(variant[n]) for n in names):
        return False
    # the small arrays first (h_n, c_n): most variants are told apart there, before y and c
    if any(failing_mask(variant[n], got[n], loose).any() for n in sorted(names, key=lambda n: np.size(got[n]))):
        return False
    return any(np.shape(reference[n]) != np.shape(variant[n]) or failing_mask(reference[n], variant[n], tol).any()
               for n in names if n in reference)


def computed_in(problem: Problem, got: dict, reference: dict) -> Optional[str]:
    """'bfloat16', 'float16' or 'float32' (narrowest first) when every output value of a
    problem in a wider dtype is a number of that dtype while the reference's are not: the
    implementation computed (or rounded) in it."""
    narrower = [d for d in ("bfloat16", "float16", "float32") if _BITS[d] < _BITS.get(problem.dtype, 0)]
    if not narrower:
        return None
    values = np.concatenate([np.ravel(got[n]) for n in OUTPUTS if n in got] or [np.zeros(0)]).astype(np.float64)
    expected = np.concatenate([np.ravel(reference[n]) for n in OUTPUTS if n in got] or [np.zeros(0)])
    values, expected = values[np.isfinite(values)], expected[np.isfinite(expected)]
    # Zeros and whole numbers are numbers of every dtype, and short dyadic fractions (0.5, 0.25)
    # of the half dtypes: too few other values is no evidence. A value that happens to be a
    # float32 number is rare enough (about 1 in 2^29) that two of them are.
    fractions = np.count_nonzero(values != np.round(values))
    for dtype in narrower:
        needed = 2 if dtype == "float32" else 4
        representable = lambda a: round_to_dtype(a, dtype) == a  # noqa: E731
        if (fractions >= needed and representable(values).all()
                and (~representable(expected)).sum() >= needed):
            return dtype
    return None


def diagnose_forward(problem: Problem, got: dict, reference: dict, tol: Tolerance) -> dict:
    """{"where", "patterns", "summary"} for outputs `got` that failed the forward check."""
    got = {k: np.asarray(v, np.float64) for k, v in got.items()}
    where = locate_outputs(problem, reference, got, tol)
    patterns = []
    narrow = computed_in(problem, got, reference)
    if narrow:
        patterns.append(named("computed-in", dtype=narrow))
    steps = problem.seq_len * problem.config.num_layers * problem.config.num_directions
    tried = steps <= MAX_STEPS_FOR_PATTERNS
    if tried:
        loose = Tolerance(tol.atol * MATCH_FACTOR, tol.rtol * MATCH_FACTOR)
        screen = screen_for(problem, got, reference, loose, forward_variants)
        for name, make in forward_variants(problem, reference):
            if screen and not screen.may_reproduce(name):  # its first steps already disagree
                continue
            try:
                variant = make()
            except (ValueError, FloatingPointError):  # the variant is undefined for this problem
                continue
            if _reproduces(variant, got, reference, tol):
                patterns.append(name)
        patterns = _one_name_per_defect(patterns)
    if not patterns and not narrow and tried:
        rounded = rounded_per_operation(problem, got, reference, tol)
        if rounded:
            patterns.append(rounded)
    if not patterns:
        written = written_wrong(problem, got, reference, tol)
        if written:
            patterns.append(written)
    return {"where": where, "patterns": [str(p) for p in patterns], "defects": _ids(patterns),
            "summary": _summary(where, patterns, tried)}


def diagnose_outputs(run) -> dict:
    """diagnose_forward of the case's own run, computed once per run: the forward check and
    the others that meet its deviation ask for it."""
    if getattr(run, "_diagnosis_of_outputs", None) is None:
        run._diagnosis_of_outputs = diagnose_forward(run.problem, run.outputs, run.reference, tolerance_for(run.dtype))
    return run._diagnosis_of_outputs


def _rounded_step(dtype: str) -> Callable:
    """A step whose every operation's result is rounded to `dtype` (its inputs, parameters
    and the state it receives too): a = W_ih x + W_hh h + (b_ih + b_hh), the gates, c', ψ(c')
    and h', each sum and product in turn."""
    def r(a):
        return round_to_dtype(np.asarray(a, np.float64), dtype)

    def new_state(cfg, p, s):
        q = {k: r(v) for k, v in p.items()}
        H = cfg.hidden_size
        a = r(r(r(s.x) @ q["weight_ih"].T) + r(r(s.h) @ q["weight_hh"].T))
        if cfg.bias:
            a = r(a + r(q["bias_ih"] + q["bias_hh"]))
        sigma, phi, psi = (cfg.activation(role) for role in ACTIVATION_ROLES)
        i, f, o = (r(activations.apply(sigma, a[:, k * H:(k + 1) * H])) for k in (0, 1, 3))
        g = r(activations.apply(phi, a[:, 2 * H:3 * H]))
        c_new = r(r(f * r(s.c)) + r(i * g))
        h_new = r(o * r(activations.apply(psi, c_new)))
        return (r(h_new @ q["weight_hr"].T) if cfg.proj_size else h_new), c_new
    return new_state


def rounded_per_operation(problem: Problem, got: dict, reference: dict, tol: Tolerance) -> Optional[str]:
    """'arithmetic rounded to float16 / bfloat16 / float32' when the reference with every operation
    rounded to that dtype deviates like the outputs do: they are within that dtype's tolerance
    of it, their largest deviation from the reference is within a factor 3 of its own, and
    they deviate in at least half the elements it moves out of tolerance (rounding moves
    nearly every value; a local defect does not). Rounding in another order cannot be matched
    to better than the dtype's spacing, so the evidence is the size and spread of the
    deviation, not equality. For the plain cell (no peepholes, clips, layer norm, own reverse
    activations, input_forget or forget_bias), in a problem wider than that dtype."""
    config = problem.config
    if (config.peepholes or config.input_forget or config.forget_bias or config.cell_clip is not None
            or config.state_clip is not None or config.proj_clip is not None or config.layer_norm
            or config.activations_reverse is not None):
        return None
    names = [n for n in OUTPUTS if n in got and n in reference and np.shape(got[n]) == np.shape(reference[n])]
    if not names or not all(np.isfinite(got[n]).all() for n in names):
        return None

    def largest(a: dict) -> float:
        return max(float(np.max(np.abs(a[n] - reference[n]), initial=0.0)) for n in names)

    def moved(a: dict) -> int:
        return sum(int(failing_mask(reference[n], a[n], tol).sum()) for n in names)

    best = None
    for dtype in ("float16", "bfloat16", "float32"):
        if _BITS[dtype] >= _BITS.get(problem.dtype, 0):
            continue
        model = forward_with(problem, _rounded_step(dtype))
        if any(failing_mask(model[n], got[n], tolerance_for(dtype)).any() for n in names):
            continue
        ratio = largest(got) / max(largest(model), 1e-300)
        if 1 / 3 <= ratio <= 3 and moved(got) >= 0.5 * moved(model) and (best is None or
                                                                         abs(np.log(ratio)) < best[0]):
            best = (abs(np.log(ratio)), dtype)
    return named("rounded-per-operation", dtype=best[1]) if best else None


def written_wrong(problem: Problem, got: dict, reference: dict, tol: Tolerance) -> Optional[str]:
    """y wrong while the recurrence is right: h_n, c_n (and c) agree, and either every wrong
    element of y was not carried (it is in a row's padding, or at the row's last step of its
    direction, or the next step of its direction agrees, which a wrong state would have
    changed), or y at a row's last step differs from h_n, which it is. y at step t is the state
    a direction hands to its next step (t + 1, or t − 1 in reverse) in every layout but
    padding: carry, where y past a row's length is a copy."""
    config = problem.config
    if config.padding == "carry" or "y" not in got or np.shape(got["y"]) != np.shape(reference["y"]):
        return None
    others = [n for n in ("h_n", "c_n", "c") if n in got and n in reference]
    if "h_n" not in others or any(np.shape(got[n]) != np.shape(reference[n])
                                  or failing_mask(reference[n], got[n], tol).any() for n in others):
        return None
    tm = to_time_major(config, failing_mask(reference["y"], got["y"], tol))  # (T, B, D·P)
    T, B, D = tm.shape[0], tm.shape[1], config.num_directions
    if not tm.any():
        return None
    lengths = np.full(B, T) if problem.lengths is None else np.asarray(problem.lengths)
    carried, at_last = False, False
    for d in range(D):
        wrong = tm[:, :, d * (tm.shape[2] // D):(d + 1) * (tm.shape[2] // D)].any(axis=2)  # (T, B)
        reverse = config.runs_reverse(d)
        for t, b in zip(*np.nonzero(wrong)):
            last = 0 if reverse else lengths[b] - 1
            if t >= lengths[b]:
                continue  # padding: nothing is carried from it
            if t == last:
                at_last = True
                continue
            carried |= bool(wrong[t - 1 if reverse else t + 1, b])
    if carried and not at_last:
        return None
    return named("output-written-wrong", output="y")
