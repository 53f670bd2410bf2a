"""A problem's defect models are screened on their first steps (diagnosis/prefix.py):
only models that are causal are, and screening never rejects a model that reproduces."""
import dataclasses

import numpy as np
import pytest
from fixtures.adapters import TextbookSwappedRows
from fixtures.model_outputs_once import variants_once

import lstm_conformance.diagnosis.forward as diagnosis_forward
from lstm_conformance.diagnosis import forward_variants, prefix
from lstm_conformance.diagnosis.forward import MATCH_FACTOR
from lstm_conformance.diagnosis.rerun import _reference
from lstm_conformance.harness.runner import run_case
from lstm_conformance.mutants import ZOO
from lstm_conformance.spec.materialize import materialize
from lstm_conformance.tolerances import Tolerance, tolerance_for


def lengthened(problem, steps):
    """The problem with x repeated in time up to at least `steps` steps (lengths moved up as much)."""
    config, T = problem.config, problem.seq_len
    reps = -(-steps // T)
    x = np.concatenate([problem.x] * reps, axis=config.time_axis)
    lengths = None if problem.lengths is None else problem.lengths + (reps - 1) * T
    return dataclasses.replace(problem, x=x, lengths=lengths)


def screened_cases(library):
    return [c for c in library if c.config.num_directions == 1 and c.shape.get("seq_len", 0) > 0
            and c.expect_error is None and (c.config.direction == "forward" or "lengths" not in c.inputs)]


def loose(dtype):
    tol = tolerance_for(dtype)
    return Tolerance(tol.atol * MATCH_FACTOR, tol.rtol * MATCH_FACTOR)


@pytest.mark.parametrize("steps", [prefix.MIN_STEPS_TO_SCREEN, 64], ids=["as-in-the-library", "lengthened-to-64"])
def test_every_causal_model_passes_the_screen_on_its_own_outputs(library, steps):
    """The claim screening rests on: a causal model's first steps on x[:k] are those of its run
    on all of x. Each causal model's full outputs, taken as an implementation's, must pass."""
    checked = {}  # defect id: how many models of it were checked (three of each are enough)
    for case in screened_cases(library):
        if all(checked.get(defect, 0) >= 3 for defect in prefix.CAUSAL):
            break  # three models of each checked: the rest of the library adds time only
        dtype = case.dtypes[0]
        try:
            problem = lengthened(materialize(case, dtype), steps)
        except ValueError:
            continue
        # num_layers ignored is undefined with an initial state of several layers: also without it
        stateless = [dataclasses.replace(problem, h0=None, c0=None)] if problem.h0 is not None else []
        for problem in [problem] + stateless:
            try:
                reference = _reference(problem)
            except ValueError:  # (a case whose inputs only an implementation accepts)
                continue
            for name, make in forward_variants(problem, reference):
                if name.defect_id not in prefix.CAUSAL or checked.get(name.defect_id, 0) >= 3:
                    continue
                try:
                    outputs = make()
                except (ValueError, FloatingPointError):
                    continue
                screen = prefix.PrefixScreen(problem, outputs, reference, loose(dtype), forward_variants)
                assert screen.models, case.id
                assert screen.may_reproduce(name), (case.id, name)
                checked[name.defect_id] = checked.get(name.defect_id, 0) + 1
    # the library exercises every causal model this way
    assert set(checked) == prefix.CAUSAL, sorted(prefix.CAUSAL - set(checked))


@pytest.mark.parametrize("case_id", ["long-sequence-t1000", "reverse"])
def test_the_screen_rejects_models_whose_first_steps_disagree(cases, case_id):
    case = cases[case_id]
    problem = materialize(case, "float64")
    reference = _reference(problem)
    screen = prefix.PrefixScreen(problem, reference, reference, loose("float64"), forward_variants)
    names = [name for name, _ in forward_variants(problem, reference)]
    rejected = [n for n in names if not screen.may_reproduce(n)]
    assert "gate blocks i and f swapped" in rejected
    assert len(rejected) >= 20
    # models about the end of the sequence or its whole are never screened
    assert all(n.defect_id in prefix.CAUSAL for n in rejected)
    assert "time reversed (steps processed from T-1 down to 0)" in names
    assert "time reversed (steps processed from T-1 down to 0)" not in rejected


def test_one_step_and_reverse_problems_are_not_screened(cases):
    for case_id in ("single-step", "reverse-lengths", "bidi-reverse-activations"):
        problem = materialize(cases[case_id], cases[case_id].dtypes[0])
        reference = _reference(problem)
        assert prefix.screen_for(problem, reference, reference, loose(problem.dtype), forward_variants) is None


@pytest.fixture(scope="module")
def full_model_outputs():
    """The unscreened diagnoses' model outputs (fixtures/model_outputs_once.py): a model's
    outputs depend on the problem and the reference only, not on the outputs being diagnosed,
    so the unscreened baseline of every mutant below reuses one full run of each model."""
    return {}


@pytest.mark.parametrize("mutant", [m for m in ZOO if m.name in (
    "gate-order-ifgo-as-figo", "bias-dropped", "forget-gate-one", "batch-rows-share-state", "time-reversed",
    "last-step-skipped", "state-from-wrong-step")], ids=lambda m: m.name)
def test_a_long_case_gets_the_same_verdict_with_and_without_screening(cases, monkeypatch, mutant,
                                                                       full_model_outputs):
    case = cases["long-sequence-slow-forget"]
    screened = run_case(case, "float64", mutant(), check="forward")
    monkeypatch.setattr(prefix, "MIN_STEPS_TO_SCREEN", 10 ** 9)
    monkeypatch.setattr(diagnosis_forward, "forward_variants", variants_once(full_model_outputs))
    unscreened = run_case(case, "float64", mutant(), check="forward")
    assert screened["status"] == "fail"
    assert screened["diagnosis"] == unscreened["diagnosis"]
    assert screened["diagnosis"]["defects"] == [mutant.defect_id]


def test_the_textbook_swap_on_the_t1000_case_is_named(cases):
    r = run_case(cases["long-sequence-t1000"], "float64", TextbookSwappedRows(), check="forward")
    assert r["diagnosis"]["patterns"] == ["gate blocks i and f swapped"]
