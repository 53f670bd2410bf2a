"""The errors check: an exception counts as a rejection only when the same adapter runs the
valid twin of the problem; T = 0 and a length of 0 pass with either answer SPEC.md §9 names
(the rejection, or ONNX's empty answer with the initial state as final state) and fail with
any other; the inputs without a sensible answer must still raise."""
import numpy as np
import pytest
import torch

from lstm_conformance.checks.errors import silent_answer, valid_twin
from lstm_conformance.mutants import ControlLSTM, zoo
from lstm_conformance.harness.runner import run_case
from lstm_conformance.spec.loader import load_text
from lstm_conformance.spec.materialize import materialize

GIVEN_STATE = "random/t5b3i4h7/bias/given-state"
NO_STATE = "random/t5b3i4h7/bias/zero-state"

EXTRA = {c.id: c for c in load_text("""
cases:
  - id: zero-length-with-state
    about: a row of length 0 in a batch with initial states (its final state must be its initial state)
    expect_error: lengths must lie in 1..T
    shape: {seq_len: 4, batch: 3, input_size: 3, hidden_size: 4}
    seed: 41
    inputs: {lengths: [4, 0, 2], h0: {uniform: [-1, 1]}, c0: {uniform: [-1, 1]}}
  - id: zero-length-bidirectional-batch-first
    about: the same with two directions and batch_first
    expect_error: lengths must lie in 1..T
    shape: {seq_len: 4, batch: 3, input_size: 3, hidden_size: 4}
    seed: 42
    options: {bidirectional: true, batch_first: true}
    inputs: {lengths: [0, 4, 3], h0: {uniform: [-1, 1]}, c0: {uniform: [-1, 1]}}
  - id: t0-with-state
    about: T = 0 with initial states
    expect_error: sequence length T must be at least 1
    shape: {seq_len: 0, batch: 2, input_size: 3, hidden_size: 4}
    seed: 43
    options: {num_layers: 2}
    inputs: {h0: {uniform: [-1, 1]}, c0: {uniform: [-1, 1]}}
""", file="test_errors_check.py")}


class NeedsInitialState(ControlLSTM):
    """Fails on every problem without an initial state, whatever else it holds."""
    name = "needs-initial-state"

    def prepare(self, problem):
        if problem.h0 is None or problem.c0 is None:
            raise RuntimeError("internal error: initial state buffer is null")
        return super().prepare(problem)


class OnnxStyle(ControlLSTM):
    """Correct, with ONNX's answer for T = 0 and length 0 (the control's loop gives it when
    nothing stops it): no rejection of those two, every other invalid input rejected."""
    name = "onnx-style"

    def validate(self, problem):
        lengths = problem.lengths
        if lengths is not None and np.size(lengths) and np.min(lengths) == 0 and np.max(lengths) <= problem.seq_len:
            lengths = np.maximum(lengths, 1)  # check everything else as usual
        import dataclasses
        self.validate_shapes(dataclasses.replace(problem, lengths=lengths))


class ZeroStateForEmptyRows(OnnxStyle):
    """onnxruntime's answer: zeros as the final state of T = 0 and of length-0 rows."""
    name = "zero-state-for-empty-rows"

    def forward(self, problem, x, h0, c0, params):
        out = super().forward(problem, x, h0, c0, params)
        if problem.lengths is not None:
            empty = torch.from_numpy(np.asarray(problem.lengths) == 0)
            out["h_n"], out["c_n"] = (torch.where(empty[None, :, None], 0.0, out[k]) for k in ("h_n", "c_n"))
        elif problem.seq_len == 0:
            out["h_n"], out["c_n"] = torch.zeros_like(out["h_n"]), torch.zeros_like(out["c_n"])
        return out


class OneStepForT0(OnnxStyle):
    """T = 0 answered with a y of one zero step (a wrong shape)."""
    name = "one-step-for-t0"

    def forward(self, problem, x, h0, c0, params):
        out = super().forward(problem, x, h0, c0, params)
        if problem.seq_len == 0:
            axis = 1 if problem.config.batch_first and not problem.config.unbatched else 0
            shape = list(out["y"].shape)
            shape[axis] = 1
            out["y"] = out["y"].new_zeros(shape)
        return out


class AcceptsEverything(ControlLSTM):
    """Validates nothing: returns numbers for every input it can compute."""
    name = "accepts-everything"

    def validate(self, problem):
        pass


# ----------------------------------------------------------------------------- valid twins

def test_an_adapter_failing_without_initial_state_does_not_reject_anything(cases):
    adapter = NeedsInitialState()
    derived = run_case(cases[NO_STATE], "float32", adapter, check="errors")
    assert derived["status"] == "error" and derived["valid_twin"] == {
        "twin": "the case itself", "ran": False, "message": "RuntimeError: internal error: initial state buffer is null"}
    assert "could not run the valid twin (the case itself)" in derived["message"]
    # with an initial state the twin runs, and each exception is a rejection again
    assert run_case(cases[GIVEN_STATE], "float32", adapter, check="errors")["status"] == "pass"
    # the library's error cases: those whose twin has no state are errors, the others pass
    no_state = run_case(cases["err-seq-len-zero"], "float32", adapter)
    assert no_state["status"] == "error" and "the same case with T = 1" in no_state["message"]
    assert no_state["valid_twin"]["ran"] is False
    with_state = run_case(cases["err-h0-batch"], "float32", adapter)
    assert with_state["status"] == "pass" and with_state["valid_twin"]["ran"] is True


def test_every_library_error_case_has_a_valid_twin_that_the_control_runs(library):
    error_cases = [c for c in library if c.expect_error]
    assert len(error_cases) >= 14
    for case in error_cases:
        twin, what = valid_twin(case)
        assert twin is not None, (case.id, what)
        problem = materialize(twin, "float64")
        ControlLSTM().prepare(problem)()  # valid: runs
        r = run_case(case, "float64", ControlLSTM())
        assert r["status"] == "pass" and r["valid_twin"]["ran"] is True, (case.id, r["message"])


def test_twins_change_only_the_invalid_value(cases):
    assert valid_twin(cases["err-lengths-negative"])[1] == "lengths [1, 3]"
    assert valid_twin(cases["err-lengths-count"])[1] == "lengths [4, 3]"
    assert valid_twin(cases["err-proj-size-not-smaller/larger"])[1] == "proj_size 3"
    assert valid_twin(cases["err-h0-batch"])[1] == "h0 of its configured shape"
    twin = valid_twin(cases["err-seq-len-zero-unbatched"])[0]
    assert twin.shape["seq_len"] == 1 and twin.options == {"unbatched": True}


def test_a_case_without_a_derivable_twin_says_so(cases):
    import dataclasses
    odd = dataclasses.replace(cases["err-seq-len-zero"], id="odd", shape=dict(cases["err-seq-len-zero"].shape,
                                                                                 seq_len=3))
    assert valid_twin(odd) == (None, "no invalid value found that a valid one could replace")
    r = run_case(odd, "float32", AcceptsEverything())
    assert r["valid_twin"]["twin"] is None and "rejection not confirmed" in r["message"]


# ----------------------------------------------------------------------------- T = 0 and length 0

@pytest.mark.parametrize("case_id", ["err-seq-len-zero", "err-seq-len-zero-unbatched", "err-lengths-zero"])
def test_the_onnx_answer_passes_the_library_cases(cases, case_id):
    r = run_case(cases[case_id], "float32", OnnxStyle())
    assert r["status"] == "pass" and "answer SPEC.md §9 accepts" in r["message"], r["message"]
    assert run_case(cases[case_id], "float32", ControlLSTM())["status"] == "pass"  # the rejection too


@pytest.mark.parametrize("case_id", sorted(EXTRA))
def test_the_onnx_answer_passes_with_states_directions_and_layouts(case_id):
    r = run_case(EXTRA[case_id], "float64", OnnxStyle())
    assert r["status"] == "pass", r["message"]
    bad = run_case(EXTRA[case_id], "float64", ZeroStateForEmptyRows())
    assert bad["status"] == "fail" and "not the accepted answer either" in bad["message"], bad["message"]
    assert "h_n differs" in bad["message"]


def test_derived_t0_accepts_the_onnx_answer_and_fails_others(cases):
    assert run_case(cases[GIVEN_STATE], "float32", OnnxStyle(), check="errors")["status"] == "pass"
    for adapter, words in ((zoo.AcceptsEmptySequence(), "h_n differs"), (ZeroStateForEmptyRows(), "h_n differs"),
                           (OneStepForT0(), "y of shape (1, 3, 7), expected (0, 3, 7)")):
        r = run_case(cases[GIVEN_STATE], "float32", adapter, check="errors")
        assert r["status"] == "fail" and "T = 0" in r["message"] and words in r["message"], r["message"]
        t0 = next(i for i in r["invalid_inputs"] if i["input"] == "T = 0")
        assert t0["raised"] is False and t0["accepted"] is False


def test_the_accepted_answer_itself():
    case = EXTRA["zero-length-with-state"]
    problem = materialize(case, "float64")
    answer = silent_answer(problem)
    assert np.array_equal(answer["h_n"][:, 1], problem.h0[:, 1]) and not answer["y"][:, 1].any()
    assert not np.array_equal(answer["h_n"][:, 0], problem.h0[:, 0])
    t0 = materialize(EXTRA["t0-with-state"], "float64")
    answer = silent_answer(t0)
    assert answer["y"].shape == (0, 2, 4) and np.array_equal(answer["c_n"], t0.c0)


@pytest.mark.parametrize("case_id", ["err-lengths-negative", "err-lengths-too-long", "err-h0-layers",
                                     "err-unbatched-state-3d"])
def test_inputs_without_a_sensible_answer_must_still_raise(cases, case_id):
    # (an implementation that validates nothing still computes these; the others fail in its matmuls)
    r = run_case(cases[case_id], "float64", AcceptsEverything())
    assert r["status"] == "fail" and "it must raise" in r["message"], r["message"]


def test_no_other_error_case_has_an_accepted_answer(library):
    for case in library:
        if case.expect_error and case.id not in ("err-seq-len-zero", "err-seq-len-zero-unbatched", "err-lengths-zero"):
            assert silent_answer(materialize(case, "float64")) is None, case.id


def test_a_zero_length_with_another_invalid_input_must_raise():
    import dataclasses
    case = EXTRA["zero-length-with-state"]
    problem = materialize(case, "float64")
    assert silent_answer(dataclasses.replace(problem, lengths=np.array([4, 0, 5]))) is None  # and one above T
    assert silent_answer(dataclasses.replace(problem, lengths=np.array([4, 0, -1]))) is None
    wider = dataclasses.replace(problem, h0=np.zeros((1, 3, 5)))
    assert silent_answer(wider) is None


def test_onnxruntime_passes_without_state_and_fails_with_one(cases):
    pytest.importorskip("onnxruntime")
    from lstm_conformance.implementations.onnxruntime_lstm import OnnxRuntimeAdapter

    adapter = OnnxRuntimeAdapter()
    assert run_case(cases["err-lengths-zero"], "float32", adapter)["status"] == "pass"  # no state: zeros are right
    # T = 0: Y_c comes from uninitialised memory (zeros in some runs, NaN in others)
    r = run_case(cases["err-seq-len-zero"], "float32", adapter)
    assert r["status"] == "pass" or "c_n differs" in r["message"], r["message"]
    r = run_case(EXTRA["zero-length-with-state"], "float32", adapter)
    assert r["status"] == "fail" and "h_n differs" in r["message"]
    r = run_case(cases[GIVEN_STATE], "float32", adapter, check="errors")
    assert r["status"] == "fail" and "T = 0 (not the accepted answer either" in r["message"]
