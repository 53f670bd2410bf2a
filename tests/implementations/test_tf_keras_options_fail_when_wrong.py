"""The library cases of issue 15's options 5 and 6 (padding: carry, state_clip, proj_clip,
layer_norm) pass for the numpy implementation and fail for a deliberately wrong one: the numpy
adapter computing the problem with that option dropped (zeros where carry is asked, the state
clip or the projection clip not applied, no layer norm, layer norm without its coefficients),
and the diagnosis names the option."""
import dataclasses

import numpy as np
import pytest

from lstm_conformance import run
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from fixtures.library import builtin_cases  # the library, parsed once per test process


def statuses(adapter, cases):
    records = run([adapter], cases=cases, checks=["forward"], dtypes=["float64"], diagnose=False)
    return {r["case"]: r["status"] for r in records}


class Wrong(NumpyAdapter):
    """The numpy adapter computing a changed problem (`change`), handed the real one."""

    def __init__(self, name, change):
        self.name, self.change = name, change

    def prepare(self, problem):
        return super().prepare(self.change(problem))


def with_config(problem, params=None, **changes):
    return dataclasses.replace(problem, config=problem.config.with_options(**changes),
                               params=problem.params if params is None else params)


def without_layer_norm(problem):
    params = {k: v for k, v in problem.params.items() if not k.startswith("layer_norm")}
    return with_config(problem, params, layer_norm=False)


def unit_coefficients(problem):
    return dataclasses.replace(problem, params={k: (np.ones_like(v) if k.startswith("layer_norm") else v)
                                                for k, v in problem.params.items()})


WRONG = {
    "padding-zeros": (Wrong("numpy-padding-zeros", lambda p: with_config(p, padding="zeros")),
                      # a single reverse direction meets the padding first: carry and zeros agree
                      lambda cfg: cfg.padding == "carry" and cfg.direction != "reverse", "padding: carry ignored"),
    "state-clip-dropped": (Wrong("numpy-no-state-clip", lambda p: with_config(p, state_clip=None)),
                           lambda cfg: cfg.state_clip is not None, "state_clip ignored"),
    "proj-clip-dropped": (Wrong("numpy-no-proj-clip", lambda p: with_config(p, proj_clip=None)),
                          lambda cfg: cfg.proj_clip is not None, "proj_clip ignored"),
    "layer-norm-dropped": (Wrong("numpy-no-layer-norm", without_layer_norm),
                           lambda cfg: cfg.layer_norm, "layer_norm ignored"),
    "layer-norm-coefficients-dropped": (Wrong("numpy-layer-norm-unit-coefficients", unit_coefficients),
                                        lambda cfg: cfg.layer_norm, "layer norm coefficients ignored"),
}


@pytest.mark.parametrize("which", sorted(WRONG))
def test_the_option_cases_pass_for_numpy_and_fail_for_the_wrong_implementation(which):
    wrong, uses, _ = WRONG[which]
    cases = [c for c in builtin_cases() if c.expect_error is None and uses(c.config)]
    assert len(cases) >= 3, [c.id for c in cases]
    right = statuses(NumpyAdapter(), cases)
    assert set(right.values()) == {"pass"}, right
    got = statuses(wrong, cases)
    assert set(got.values()) == {"fail"}, got


@pytest.mark.parametrize("which, case", [
    ("padding-zeros", "padding-carry"), ("padding-zeros", "padding-carry-layers-proj-batch-first"),
    ("state-clip-dropped", "state-clip-binds"), ("proj-clip-dropped", "proj-clip-binds"),
    ("layer-norm-dropped", "layer-norm"), ("layer-norm-coefficients-dropped", "layer-norm-peepholes-proj-bidi-lengths"),
])
def test_the_diagnosis_names_the_dropped_option(which, case):
    wrong, _, pattern = WRONG[which]
    records = run([wrong], cases=[c for c in builtin_cases() if c.id == case], checks=["forward"], dtypes=["float64"])
    patterns = records[0]["diagnosis"]["patterns"]
    assert records[0]["status"] == "fail" and patterns and patterns[0].startswith(pattern), patterns
