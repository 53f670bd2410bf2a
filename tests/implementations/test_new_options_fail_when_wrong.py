"""The library cases of issue 15's options pass for the numpy implementation and fail for a
deliberately wrong one: each wrong implementation is the numpy adapter with one option of the
problem computed the wrong way (the defects real code has)."""
import dataclasses

import pytest

from lstm_conformance import run
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.spec.loader import load_cases


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


def library(predicate):
    cases = [c for c in load_cases() if c.expect_error is None and predicate(c.config)]
    assert cases, "no library case uses the option"
    return cases


@pytest.mark.parametrize("wrong, predicate", [
    (ReverseComputedForward(), lambda cfg: cfg.direction == "reverse"),
    (ReverseActivationsFromForward(), lambda cfg: cfg.activations_reverse is not None),
], ids=lambda v: getattr(v, "name", ""))
def test_new_option_cases_pass_for_numpy_and_fail_for_the_wrong_implementation(wrong, predicate):
    cases = library(predicate)
    right = statuses("numpy", cases)
    assert set(right.values()) == {"pass"}, right
    got = statuses(wrong, cases)
    assert set(got.values()) == {"fail"}, got
