"""Diagnosis of the gradients check: an upstream term ignored, the state path detached, the
initial state ignored (the reference backward with that defect), a gate block's gradient
copied from another block, else the defect of a wrong forward pass."""
from __future__ import annotations

import re
from typing import Callable, Iterator

import numpy as np

from ..defects import Named, named
from ..metrics import failing_mask
from ..reference import lstm_backward
from ..spec.model import GATE_ORDER, UPSTREAM_TERMS, Problem
from ..tolerances import Tolerance, gradient_tolerance
from .consistency import diagnose_runs
from .forward import MATCH_FACTOR, MAX_STEPS_FOR_PATTERNS
from .forward_models import _one_name_per_defect
from .messages import _ids, _summary
from .rerun import GATED_ARRAYS
from .where import _gradient_where


def diagnose_gradients(run, upstream: dict, got_by_label: dict, expected_by_label: dict, comparisons: list) -> dict:
    """Where the gradients fail (array, upstream term, gate blocks, steps) and which upstream
    term an implementation ignores, when one does."""
    problem = run.problem
    where, failing_names = {}, set()
    for c in comparisons:
        if c["passed"]:
            continue
        name = c["output"].removeprefix("grad ")
        failing_names.add(name)
        exp, got = expected_by_label[c["upstream"]][name], got_by_label[c["upstream"]].get(name)
        if got is None:
            continue
        tol = gradient_tolerance(run.dtype, np.max(np.abs(exp)) if exp.size else 0.0)
        where[f"{name} (upstream {c['upstream']})"] = _gradient_where(name, exp, got, tol, problem)

    patterns = []
    for term in ("y", "h_n", "c_n"):
        if _ignores(run, term, upstream, got_by_label, expected_by_label, UPSTREAM_TERMS):
            patterns.append(named("upstream-term-ignored", term=term))
    steps = problem.seq_len * problem.config.num_layers * problem.config.num_directions
    if not patterns and steps <= MAX_STEPS_FOR_PATTERNS:
        patterns += _one_name_per_defect([name for name, model in _gradient_models(problem, upstream)
                                          if _reproduces_gradients(run, model, got_by_label, expected_by_label)])
    if not patterns:
        patterns += _array_defects(run, got_by_label, expected_by_label, failing_names)
    if not patterns:
        mapping = _gate_block_sources(run, got_by_label, expected_by_label, failing_names)
        if mapping:
            patterns.append(named("gradient-from-gate-block", mapping=mapping))
    from_forward = not patterns and _forward_defects(run)
    if from_forward:  # gradients of a wrong forward pass: the defect its outputs show
        patterns = from_forward
    all_names = set(expected_by_label["all"])
    if not patterns and failing_names and len(failing_names) <= len(all_names) // 2:
        # A few arrays wrong, the rest right: name them (and their gate blocks), the defect is local.
        parts = []
        for name in sorted(failing_names):
            blocks = sorted({b for k, info in where.items() if k.startswith(name + " ")
                             for b in info.get("gate_blocks", [])}, key=GATE_ORDER.index)
            parts.append(f"{name} (gate blocks {', '.join(blocks)})" if blocks else name)
        patterns.append(named("gradient-wrong-only-in", arrays=", ".join(parts)))
    summary = _summary(where, patterns)
    if from_forward:
        summary = summary.replace("reproduced by: ", "the forward outputs are wrong, reproduced by: ", 1) + \
            " (the gradients are those of that function)"
    return {"where": where, "patterns": [str(p) for p in patterns], "defects": _ids(patterns), "summary": summary}


def _forward_defects(run) -> list:
    """The defects named in the implementation's own forward outputs on the case, when they
    deviate from the reference (its gradients are then of another function: one defect, one
    group); [] when they agree or the forward run fails."""
    try:
        diagnosis = diagnose_runs(run, [])
    except Exception:  # noqa: BLE001 - the forward run's own failure is the forward check's to report
        return []
    if not diagnosis:
        return []
    return [Named(d, p) for d, p in zip(diagnosis["defects"], diagnosis["patterns"])]


def _gradient_models(problem: Problem, upstream: dict) -> Iterator[tuple[str, Callable[[tuple], dict]]]:
    """(name, gradients for the given upstream terms) of backward passes with a defect: the
    state path through h and c, h alone or c alone cut between steps (the reference's own
    backward with that path detached); the initial state, h0 or c0 ignored (taken as zeros)."""
    def backward(terms, h0=problem.h0, c0=problem.c0, detached=()):
        given = {f"grad_{k}": (upstream[k] if k in terms else None) for k in ("y", "h_n", "c_n")}
        return lstm_backward(problem.config, problem.x, problem.params, h0, c0, problem.lengths, detached=detached,
                             **given)

    paths = {("h", "c"): "the state (h and c)", ("h",): "h (c's path kept)", ("c",): "c (h's path kept)"}
    for detached, text in paths.items():
        yield named("state-path-detached", path=text), lambda terms, detached=detached: backward(
            terms, detached=detached)
    # the initial state (or one part) taken as zeros: the gradients of that function, none for it
    for ignored, defect in ((("h0", "c0"), "initial-state-ignored"), (("h0",), "h0-ignored"), (("c0",), "c0-ignored")):
        def without(terms, ignored=ignored):
            grads = backward(terms, h0=None if "h0" in ignored else problem.h0,
                             c0=None if "c0" in ignored else problem.c0)
            return {k: (np.zeros_like(v) if k in ignored else v) for k, v in grads.items()}
        yield named(defect), without


def _loose(dtype: str, *arrays) -> Tolerance:
    tol = gradient_tolerance(dtype, max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0))
    return Tolerance(tol.atol * MATCH_FACTOR, tol.rtol * MATCH_FACTOR)


def _reproduces_gradients(run, model: Callable, got_by_label: dict, expected_by_label: dict) -> bool:
    """The model's gradients match the implementation's for every upstream combination, and
    differ from the correct ones for some."""
    differs = False
    for label, expected in expected_by_label.items():
        modelled = model(UPSTREAM_TERMS[label])
        for name, want in expected.items():
            got = got_by_label[label].get(name)
            if got is None:
                continue
            if np.shape(got) != np.shape(modelled[name]) or failing_mask(modelled[name], got, _loose(
                    run.dtype, modelled[name])).any():
                return False
            tol = gradient_tolerance(run.dtype, float(np.max(np.abs(want))) if np.size(want) else 0.0)
            differs |= bool(failing_mask(want, modelled[name], tol).any())
    return differs


def _array_defects(run, got_by_label: dict, expected_by_label: dict, failing: set) -> list:
    """When every failing gradient array is, for every upstream combination, all zeros (never
    computed, or a parameter left out of the backward pass) or the correct matrix transposed
    (returned in the implementation's own layout), and the other arrays are right: those
    defects; [] otherwise."""
    zero, transposed = [], []
    for name in sorted(failing):
        pairs = [(got_by_label[label].get(name), expected[name]) for label, expected in expected_by_label.items()
                 if name in expected]
        if not pairs or any(got is None for got, _ in pairs):
            return []
        if all(np.shape(got) == np.shape(want) and not np.any(got) for got, want in pairs):
            zero.append(name)
        elif all(np.ndim(want) == 2 and np.shape(got) == np.shape(want)[::-1]
                 and not failing_mask(want, np.transpose(got), _loose(run.dtype, want)).any() for got, want in pairs):
            transposed.append(name)
        else:
            return []  # an array wrong in another way: neither defect explains the failure
    found = []
    if zero:
        found.append(named("gradient-zero", arrays=", ".join(zero)))
    if transposed:
        found.append(named("gradient-transposed", arrays=", ".join(transposed)))
    return found


def _gate_block_sources(run, got_by_label: dict, expected_by_label: dict, failing: set) -> str:
    """Where every failing gradient of a (4H, ·) parameter is the correct gradient with some
    gate blocks replaced by copies of other blocks (the same for every upstream combination),
    and every other gradient is right: 'bias_hh, bias_ih: blocks i and o from f'; ''
    otherwise."""
    H = run.problem.config.hidden_size
    if not failing or not all(name.startswith(GATED_ARRAYS) for name in failing):
        return ""
    sources_of = {}
    for name in sorted(failing):
        mapping = None
        for label, expected in expected_by_label.items():
            got = got_by_label[label].get(name)
            if got is None or np.shape(got) != np.shape(expected[name]):
                return ""
            want = expected[name].reshape((4, H) + expected[name].shape[1:])
            have = got.reshape(want.shape)
            tol = _loose(run.dtype, want)
            found = []
            for k in range(4):
                # the block itself when it matches, else the first block it is a copy of
                candidates = [k] + [j for j in range(4) if j != k]
                found.append(next((j for j in candidates if not failing_mask(want[j], have[k], tol).any()), None))
            if None in found or (mapping is not None and found != mapping):
                return ""
            mapping = found
        if all(j == k for k, j in enumerate(mapping)):
            return ""
        sources_of[name] = tuple(mapping)
    parts = {}
    for name, mapping in sources_of.items():
        moved = {}
        for k, j in enumerate(mapping):
            if j != k:
                moved.setdefault(j, []).append(GATE_ORDER[k])
        text = "; ".join(f"block{'s' if len(ks) > 1 else ''} {' and '.join(ks)} from {GATE_ORDER[j]}"
                         for j, ks in sorted(moved.items()))
        kind = re.sub(r"_l\d+(_reverse)?$", "", name)  # the same in every layer and direction: said once
        if kind not in parts.setdefault(text, []):
            parts[text].append(kind)
    return "; ".join(f"{', '.join(kinds)}: {text}" for text, kinds in parts.items())


def _ignores(run, term: str, upstream: dict, got_by_label: dict, expected_by_label: dict, upstreams: dict) -> bool:
    """The gradients equal the reference's for the upstream terms without `term`, for every
    upstream combination, and that differs from the correct gradients for some combination."""
    distinguishable = False
    for label, terms in upstreams.items():
        kept = [t for t in terms if t != term]
        expected = expected_by_label[label]
        if kept:
            parts = [run.cache.gradients(run.problem, t, upstream) for t in kept]
            without = {n: sum(p[n] for p in parts) for n in expected}
        else:
            without = {n: np.zeros_like(v) for n, v in expected.items()}
        for name, value in without.items():
            got = got_by_label[label].get(name)
            if got is None:
                return False
            tol = gradient_tolerance(run.dtype, max(np.max(np.abs(value)) if value.size else 0.0,
                                                    np.max(np.abs(expected[name])) if value.size else 0.0))
            loose = Tolerance(tol.atol * MATCH_FACTOR, tol.rtol * MATCH_FACTOR)
            if failing_mask(value, got, loose).any():
                return False
            distinguishable |= bool(failing_mask(expected[name], value, tol).any())
    return distinguishable
