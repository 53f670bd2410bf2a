"""The library cases of issue 15's options pass for the numpy implementation and fail for a
deliberately wrong one: each wrong implementation is the numpy adapter with one option of the
problem computed the wrong way (the defects real code has)."""
import dataclasses

import pytest

from lstm_conformance import run
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from fixtures.library import builtin_cases  # the library, parsed once per test process


def statuses(adapter, cases, checks=("forward",), dtypes=("float64",)):
    records = run([adapter], cases=cases, checks=list(checks), dtypes=list(dtypes), diagnose=False)
    return {r["case"]: r["status"] for r in records}


class Wrong(NumpyAdapter):
    """The numpy adapter computing a changed problem (`change`), handed the real one."""

    def change(self, problem):
        raise NotImplementedError

    def prepare(self, problem):
        return super().prepare(self.change(problem))


def with_config(problem, **changes):
    return dataclasses.replace(problem, config=problem.config.with_options(**changes))


class ReverseComputedForward(Wrong):
    name = "numpy-reverse-computed-forward"

    def change(self, problem):
        return with_config(problem, direction="forward") if problem.config.direction == "reverse" else problem


class ReverseActivationsFromForward(Wrong):
    name = "numpy-reverse-activations-from-forward"

    def change(self, problem):
        return with_config(problem, activations_reverse=None)


class AlphaReadByPosition(Wrong):
    """Writes the flat ONNX lists as the spec reads them (consumed in order) and reads them back
    one value per activation by position, as onnx's reference evaluator for RNN does."""
    name = "numpy-onnx-alpha-by-position"

    def change(self, problem):
        from lstm_conformance.reference.layouts.onnx import (activations_from_onnx, activations_to_onnx,
                                                             config_activations)
        attrs = activations_to_onnx(config_activations(problem.config), reading="consumed")
        acts = activations_from_onnx(attrs["activations"], attrs.get("activation_alpha"),
                                     attrs.get("activation_beta"), reading="positional")
        reverse = tuple(acts[3:]) if problem.config.bidirectional else None
        return with_config(problem, activations=tuple(acts[:3]), activations_reverse=reverse)


class OutputPeepholeOnNewState(Wrong):
    name = "numpy-output-peephole-on-new-state"

    def change(self, problem):
        return with_config(problem, peephole_output_state="new")


class OutputPeepholeOnPreviousState(Wrong):
    name = "numpy-output-peephole-on-previous-state"

    def change(self, problem):
        return with_config(problem, peephole_output_state="previous")


def library(predicate):
    cases = [c for c in builtin_cases() if c.expect_error is None and predicate(c.config)]
    assert cases, "no library case uses the option"
    return cases


@pytest.mark.parametrize("wrong, predicate", [
    (ReverseComputedForward(), lambda cfg: cfg.direction == "reverse"),
    (ReverseActivationsFromForward(), lambda cfg: cfg.activations_reverse is not None),
    (AlphaReadByPosition(), None),
    (OutputPeepholeOnNewState(), lambda cfg: cfg.peepholes and cfg.peephole_output_state == "previous"),
    (OutputPeepholeOnPreviousState(), lambda cfg: True),  # the group's ONNX-convention cases, below
], ids=lambda v: getattr(v, "name", ""))
def test_new_option_cases_pass_for_numpy_and_fail_for_the_wrong_implementation(wrong, predicate):
    if predicate is None:
        cases = [c for c in builtin_cases() if c.group == "onnx-activation-lists"]
    elif wrong.name == "numpy-output-peephole-on-previous-state":  # the group's ONNX-convention case
        cases = [c for c in builtin_cases() if c.group == "peephole-output-state" and c.config.peephole_output_state == "new"]
    else:
        cases = library(predicate)
    right = statuses("numpy", cases)
    assert set(right.values()) == {"pass"}, right
    got = statuses(wrong, cases)
    assert set(got.values()) == {"fail"}, got


@pytest.mark.parametrize("wrong, case, pattern", [
    (ReverseComputedForward(), "reverse", "direction reverse ignored"),
    (ReverseActivationsFromForward(), "bidi-reverse-activations", "reverse direction's activations ignored"),
    (AlphaReadByPosition(), "onnx-alpha-after-parameterless-gate", "by position"),
    (OutputPeepholeOnNewState(), "peephole-output-previous", "output peephole applied to the new state"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_diagnosis_names_each_wrong_reading(wrong, case, pattern):
    records = run([wrong], cases=[c for c in builtin_cases() if c.id == case], checks=["forward"], dtypes=["float64"])
    assert records[0]["status"] == "fail" and pattern in records[0]["message"], records[0]["message"]
