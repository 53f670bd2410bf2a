"""The defect models beyond the zoo's: each deliberately broken LSTM below (a one-method change
of the correct control) is named by exactly its model, and no model claims correct results."""
import numpy as np
import pytest
import torch

from lstm_conformance.checks import ReferenceCache
from lstm_conformance.checks.base import CaseRun
from lstm_conformance.diagnosis import _gradient_models, _reproduces_gradients
from lstm_conformance.harness.runner import run_case, run_suite
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.mutants import ControlLSTM
from lstm_conformance.report.summary import problem_groups
from lstm_conformance.spec.model import UPSTREAM_TERMS

CASE = "gate-blocks-distinguishable"  # T = 5, B = 3, H = 6, h0 and c0 given, every gate block scaled apart


class InputGateZero(ControlLSTM):
    name = "input-gate-zero"

    def cell_update(self, f, c, i, g):
        return f * c


class OutputGateZero(ControlLSTM):
    name = "output-gate-zero"

    def cell_output(self, c):
        return 0.0 * c


class FirstStepSkipped(ControlLSTM):
    name = "first-step-skipped"

    def time_steps(self, seq_len, reverse):
        return range(seq_len - 1, -1, -1) if reverse else range(1, seq_len)


class FirstStepRepeated(ControlLSTM):
    """Step t reads x at t - 1 (an off-by-one in the input index, clamped at 0)."""
    name = "first-step-repeated"

    def input_tensor(self, problem, x, dtype):
        x = super().input_tensor(problem, x, dtype)
        return torch.cat([x[:1], x[:-1]]) if x.shape[0] > 1 else x


class ReverseStartsLate(ControlLSTM):
    """The reverse direction's loop starts at T - 2 (range(T - 2, -1, -1))."""
    name = "reverse-starts-late"

    def time_steps(self, seq_len, reverse):
        return range(seq_len - 2, -1, -1) if reverse else range(seq_len)


class BatchMajorOutputs(ControlLSTM):
    name = "batch-major-outputs"

    def finish(self, outputs, problem):
        return dict(outputs, y=outputs["y"].transpose(0, 1).contiguous(), c=outputs["c"].transpose(0, 1).contiguous())


class BatchFirstStates(ControlLSTM):
    name = "batch-first-states"

    def finish(self, outputs, problem):
        return dict(outputs, h_n=outputs["h_n"].transpose(0, 1).contiguous(),
                    c_n=outputs["c_n"].transpose(0, 1).contiguous())


class Detached(ControlLSTM):
    """Truncated backpropagation through one part of the state (the final state keeps its graph)."""
    parts = ()

    def carry(self, h, c):
        self._live = (h, c)
        return (h.detach() if "h" in self.parts else h), (c.detach() if "c" in self.parts else c)

    def final_state(self, h, c, ys, cs):
        return self._live if ys else (h, c)


class HDetached(Detached):
    name = "h-detached"
    parts = ("h",)


class CDetached(Detached):
    name = "c-detached"
    parts = ("c",)


@pytest.mark.parametrize("implementation, check, defect, text", [
    (InputGateZero, "forward", "gate-forced-to-zero", "input gate forced to 0 (c' = f ⊙ c)"),
    (OutputGateZero, "forward", "gate-forced-to-zero", "output gate forced to 0 (h' = 0)"),
    (FirstStepSkipped, "forward", "first-step-skipped",
     "forward direction started one step late (its first step, 0, skipped: its outputs there stay zero)"),
    (FirstStepRepeated, "forward", "first-step-repeated", "forward direction started one step early (step t reads x "
                                                          "at t - 1: its first step's x computed twice, its last "
                                                          "step's never)"),
    (BatchMajorOutputs, "forward", "outputs-axes-swapped",
     "y and c returned with their first two axes swapped (batch-major (B, T, ·); spec: time-major (T, B, ·))"),
    (BatchFirstStates, "forward", "outputs-axes-swapped",
     "h_n and c_n returned with their first two axes swapped ((B, L·D, ·); spec: (L·D, B, ·))"),
    (HDetached, "gradients", "state-path-detached", "gradient through h (c's path kept) cut between steps "
                                                    "(truncated backpropagation with a window of one step)"),
    (CDetached, "gradients", "state-path-detached", "gradient through c (h's path kept) cut between steps "
                                                    "(truncated backpropagation with a window of one step)"),
], ids=lambda v: getattr(v, "name", None) if isinstance(v, type) else None)
def test_a_broken_implementation_is_named_by_its_model(cases, implementation, check, defect, text):
    record = run_case(cases[CASE], "float64", implementation(), check=check)
    assert record["status"] == "fail"
    assert record["diagnosis"]["defects"] == [defect], record["diagnosis"]["patterns"]
    if text:
        assert record["diagnosis"]["patterns"] == [text]


def test_a_reverse_direction_started_late_is_named(cases):
    record = run_case(cases["bidirectional"], "float64", ReverseStartsLate())
    assert record["status"] == "fail"
    T = cases["bidirectional"].shape["seq_len"]
    assert record["diagnosis"]["patterns"] == [f"reverse direction started one step late (its first step, {T - 1}, "
                                               "skipped: its outputs there stay zero)"]


def test_the_correct_control_fails_none_of_those_checks(cases):
    for check in ("forward", "gradients"):
        assert run_case(cases[CASE], "float64", ControlLSTM(), check=check)["status"] == "pass"


def test_no_gradient_model_claims_the_correct_gradients(cases):
    run = CaseRun(cases[CASE], "float64", NumpyAdapter(), ReferenceCache(use_disk=False))
    upstream = {k: np.ones(np.shape(run.reference[k])) for k in ("y", "h_n", "c_n")}
    correct = {label: {n: sum(run.cache.gradients(run.problem, t, upstream)[n] for t in terms)
                       for n in run.cache.gradients(run.problem, "y", upstream)}
               for label, terms in UPSTREAM_TERMS.items()}
    models = list(_gradient_models(run.problem, upstream))
    assert len(models) == 6  # h and c, h, c detached; the initial state, h0, c0 ignored
    assert not any(_reproduces_gradients(run, model, correct, correct) for _, model in models)


class C0Ignored(ControlLSTM):
    """A newcomer's bug: the initial cell state is dropped (h0 kept)."""
    name = "c0-ignored"

    def initial_state(self, h0, c0):
        return h0, torch.zeros_like(c0)


def test_one_defect_is_one_group_whichever_check_meets_it(cases):
    # On a zero-state case the forward check passes, but the second chunk of state-chaining
    # starts from a non-zero c, and the gradient w.r.t. c0 is zero: those failures are named
    # like the forward ones, one group.
    zero_state = "random/t5b3i4h7/bias/zero-state"
    records = run_suite([cases[CASE], cases[zero_state]], [C0Ignored()], ["float64"],
                        checks=["forward", "state-chaining", "gradients"])
    failing = [r for r in records if r["status"] == "fail"]
    assert {(r["case"], r["check"]) for r in failing if r["case"] == zero_state} == {
        (zero_state, "state-chaining"), (zero_state, "gradients")}
    groups = problem_groups(failing)
    assert [(g.label, g.count) for g in groups] == [("diagnosis: c0 ignored (taken as zeros)", len(failing))]


def test_run_to_run_noise_is_told_from_identical_runs_and_from_a_run_that_went_another_way():
    from lstm_conformance.diagnosis import diagnose_repeated_runs
    first = {"y": np.linspace(-1.0, 1.0, 12).reshape(2, 2, 3)}
    assert diagnose_repeated_runs(first, [dict(first)], "float64") is None
    noisy = {"y": first["y"] + 1e-9}
    assert diagnose_repeated_runs(first, [noisy], "float64")["defects"] == ["runs-differ-by-noise"]
    other = {"y": first["y"] * 1.01}  # 1%: not noise
    assert diagnose_repeated_runs(first, [other], "float64") is None


def test_outputs_in_a_wider_container_but_of_the_inputs_dtype_are_not_called_upcast(cases):
    from lstm_conformance.diagnosis import diagnose_output_dtypes
    from lstm_conformance.spec.materialize import materialize, round_to_dtype
    problem = materialize(cases[CASE], "float32")
    run = CaseRun(cases[CASE], "float32", NumpyAdapter(), ReferenceCache(use_disk=False))
    reference = run.reference
    as_float64 = {k: "float64" for k in reference}
    assert diagnose_output_dtypes(problem, reference, as_float64, reference)["defects"] == ["outputs-upcast"]
    rounded = {k: round_to_dtype(v, "float32") for k, v in reference.items()}  # computed in float32, cast up
    assert diagnose_output_dtypes(problem, rounded, as_float64, reference) is None
    assert diagnose_output_dtypes(problem, reference, {k: "float32" for k in reference}, reference) is None


def rounding_per_operation(dtype):
    """The control computing in the problem's dtype but rounding each sum, product and
    activation to `dtype` (its outputs h' = o ⊙ ψ(c') are not rounded: not all of them are
    numbers of that dtype, so only the rounding model can name it)."""
    narrow = getattr(torch, dtype)

    def r(t):
        return t.to(narrow).to(t.dtype)

    class RoundsPerOperation(ControlLSTM):
        name = f"rounds-to-{dtype}"

        def gate_blocks(self, a, hidden):
            return super().gate_blocks(r(a), hidden)

        def sigmoid(self, z):
            return r(torch.sigmoid(z))

        def cell_update(self, f, c, i, g):
            return r(r(f * c) + r(i * g))

        def cell_output(self, c):
            return r(torch.tanh(c))
    return RoundsPerOperation()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_arithmetic_rounded_per_operation_is_named_with_its_dtype(cases, dtype):
    record = run_case(cases["random/t20b4i16h32/bias/given-state"], "float32", rounding_per_operation(dtype))
    assert record["status"] == "fail"
    assert record["diagnosis"]["patterns"] == [f"arithmetic rounded to {dtype} (the outputs deviate as the reference "
                                               f"with every operation rounded to {dtype} does)"]


def test_the_rounding_model_needs_a_deviation_of_its_size_and_spread(cases):
    from lstm_conformance.diagnosis import rounded_per_operation
    from lstm_conformance.spec.materialize import materialize
    from lstm_conformance.tolerances import tolerance_for
    problem = materialize(cases["random/t20b4i16h32/bias/given-state"], "float32")
    reference = CaseRun(cases["random/t20b4i16h32/bias/given-state"], "float32", NumpyAdapter(),
                        ReferenceCache(use_disk=False)).reference
    tol = tolerance_for("float32")
    one_off = {k: v.copy() for k, v in reference.items()}
    one_off["y"].flat[7] += 3e-3  # a float16-sized error, in one element only
    assert rounded_per_operation(problem, one_off, reference, tol) is None
    zeros = {k: np.zeros_like(v) for k, v in reference.items()}  # no evidence of any dtype
    assert rounded_per_operation(problem, zeros, reference, tol) is None


def test_the_gradients_of_a_wrong_forward_pass_are_grouped_with_it(cases):
    from lstm_conformance.mutants.zoo import OverflowingSigmoid
    records = run_suite([cases["saturated-gates-extreme"]], [OverflowingSigmoid()], ["float32"],
                        checks=["forward", "gradients"])
    failing = [r for r in records if r["status"] == "fail"]
    assert {r["check"] for r in failing} == {"forward", "gradients"}
    gradients = next(r for r in failing if r["check"] == "gradients")
    assert "the forward outputs are wrong, reproduced by: σ computed as e^z / (1 + e^z)" in gradients["message"]
    assert len(problem_groups(failing)) == 1


@pytest.mark.parametrize("case", ["bidirectional", "lengths-with-state"])
def test_an_output_written_wrong_is_named_in_both_directions_and_with_lengths(cases, case):
    from lstm_conformance.mutants.zoo import OneElementOff
    record = run_case(cases[case], "float64", OneElementOff())
    assert record["status"] == "fail"
    assert record["diagnosis"]["defects"] == ["output-written-wrong"]


def test_a_wrong_state_carried_on_is_not_an_output_written_wrong(cases):
    # c0 ignored: y is wrong from step 0 on and the error is carried (h_n wrong too)
    record = run_case(cases[CASE], "float64", C0Ignored())
    assert record["diagnosis"]["defects"] == ["c0-ignored"]
    from lstm_conformance.diagnosis import written_wrong
    from lstm_conformance.spec.materialize import materialize
    from lstm_conformance.tolerances import tolerance_for
    problem = materialize(cases[CASE], "float64")
    run = CaseRun(cases[CASE], "float64", NumpyAdapter(), ReferenceCache(use_disk=False))
    carried = {k: v.copy() for k, v in run.reference.items()}
    carried["y"][1:3] += 0.1  # steps 1 and 2 wrong in every row, the final state right
    assert written_wrong(problem, carried, run.reference, tolerance_for("float64")) is None


@pytest.mark.parametrize("mutant, case, defect", [
    ("time-reversed", "lengths-with-state", "time-reversed"),  # each row reversed within its length
    ("state-from-wrong-step", "bidirectional", "final-state-from-step"),
    ("state-from-wrong-step", "lengths-with-state", "final-state-from-step"),
    ("last-step-skipped", "bidirectional", "last-step-skipped"),  # the forward direction's only
])
def test_the_zoo_defects_are_named_with_lengths_and_in_two_directions(cases, mutant, case, defect):
    from lstm_conformance.mutants import ZOO
    implementation = next(m for m in ZOO if m.name == mutant)()
    for check in ("forward", "gradients"):  # the gradients of a wrong forward pass name it too
        record = run_case(cases[case], "float64", implementation, check=check)
        assert record["status"] == "fail"
        assert record["diagnosis"]["defects"] == [defect], (check, record["diagnosis"]["patterns"])
