"""Each check fails the defect it exists for, passes the correct implementations, says why,
and applies only where it means something."""
import numpy as np
import pytest
import torch

from fixtures.adapters import ForwardOnly

from lstm_conformance.adapter import tensor_keeping_strides
from lstm_conformance.checks import CHECK_NAMES, derive, select_checks
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.implementations.torch_cell import TorchCellAdapter
from lstm_conformance.implementations.torch_lstm import TorchLSTMAdapter
from lstm_conformance.mutants import ControlLSTM
from lstm_conformance.mutants import zoo
from lstm_conformance.harness.runner import run_case, run_checks, run_suite
from lstm_conformance.spec.materialize import materialize

GIVEN_STATE = "random/t5b3i4h7/bias/given-state"


def record(cases, case_id, dtype, adapter, check):
    return run_case(cases[case_id], dtype, adapter, check=check)


def test_every_check_is_run_by_default_and_named_in_the_record(cases):
    records = run_suite([cases["lengths-with-state"]], [ControlLSTM()], ["float64"])
    # lengths: no chaining; training parity runs on its one dedicated case only
    assert [r["check"] for r in records] == [c for c in CHECK_NAMES if c not in ("state-chaining", "training-parity")]
    assert all(r["status"] == "pass" for r in records), [(r["check"], r["message"]) for r in records]
    with pytest.raises(ValueError, match="unknown check 'nope'"):
        select_checks(["nope"])


@pytest.mark.parametrize("adapter", [TorchLSTMAdapter(), TorchCellAdapter()], ids=lambda a: a.name)
def test_gradients_of_correct_adapters_match_the_reference_for_each_upstream(cases, adapter):
    r = record(cases, GIVEN_STATE, "float64", adapter, "gradients")
    assert r["status"] == "pass", r["message"]
    compared = {(g["upstream"], g["output"]) for g in r["gradients"]}
    expected_arrays = {"grad x", "grad h0", "grad c0", "grad weight_ih_l0", "grad weight_hh_l0",
                       "grad bias_ih_l0", "grad bias_hh_l0"}
    assert compared == {(u, a) for u in ("all", "y", "h_n", "c_n") for a in expected_arrays}
    assert r["max_abs"] < 1e-12


def test_a_backward_that_drops_the_c_n_gradient_fails_where_c_n_is_alone(cases):
    r = record(cases, GIVEN_STATE, "float64", zoo.CnGradientDropped(), "gradients")
    assert r["status"] == "fail"
    failing = {g["upstream"] for g in r["gradients"] if not g["passed"]}
    assert failing == {"all", "c_n"}  # y and h_n alone are right


def test_gradients_are_unsupported_with_a_reason_without_gradient_support(cases):
    r = record(cases, GIVEN_STATE, "float32", ForwardOnly(), "gradients")
    assert r["status"] == "unsupported" and "no gradient support" in r["message"]


def test_state_chaining_catches_an_ignored_initial_state_and_skips_bidirectional_cases(cases):
    r = record(cases, GIVEN_STATE, "float32", zoo.InitialStateIgnored(), "state-chaining")
    assert r["status"] == "fail" and "chunks [0, 2) + [2, 5)" in r["message"]
    assert record(cases, GIVEN_STATE, "float32", ControlLSTM(), "state-chaining")["status"] == "pass"
    assert not run_checks(cases["bidirectional"], "float32", ControlLSTM(), checks=["state-chaining"])


def test_batch_independence_catches_rows_sharing_state(cases):
    r = record(cases, GIVEN_STATE, "float32", zoo.RowsShareState(), "batch-independence")
    assert r["status"] == "fail" and "row 0 alone" in r["message"]
    assert record(cases, GIVEN_STATE, "float32", NumpyAdapter(), "batch-independence")["status"] == "pass"
    assert not run_checks(cases["unbatched"], "float32", ControlLSTM(), checks=["batch-independence"])


def test_batch_independence_catches_an_implementation_that_ignores_the_row_order(cases):
    class SortsRows(ControlLSTM):  # runs the rows in a fixed order whatever the batch order
        name = "sorts-rows"

        def tensors(self, problem, requires_grad=False):
            x, h0, c0, params = super().tensors(problem, requires_grad)
            order = torch.argsort(x[0, :, 0])
            return x[:, order], h0[:, order], c0[:, order], params

    r = record(cases, GIVEN_STATE, "float64", SortsRows(), "batch-independence")
    assert r["status"] == "fail"
    assert any(o["variant"] == "rows permuted [2, 0, 1]" and not o["passed"] for o in r["outputs"])


def test_padding_invariance_catches_padding_processed_and_needs_lengths(cases):
    r = record(cases, "lengths-with-state", "float32", zoo.PaddingProcessed(), "padding-invariance")
    assert r["status"] == "fail" and "new padding contents" in r["message"]
    ok = record(cases, "lengths-with-state", "float32", TorchLSTMAdapter(), "padding-invariance")
    assert ok["status"] == "pass"
    assert any(o["output"] == "grad weight_ih_l0" for o in ok["outputs"])  # gradients compared too
    assert not run_checks(cases[GIVEN_STATE], "float32", ControlLSTM(), checks=["padding-invariance"])
    assert not run_checks(cases["lengths-all-full"], "float32", ControlLSTM(), checks=["padding-invariance"])


def test_repadding_changes_only_the_padding(cases):
    problem = materialize(cases["lengths-multi-layer-projection-batch-first"], "float64")
    new = derive.repadded(problem, np.random.default_rng(0))
    mask = derive.padding_mask(problem)
    assert mask.shape == problem.x.shape[:2] and mask.any()
    assert np.array_equal(new.x[~mask], problem.x[~mask]) and not np.allclose(new.x[mask], problem.x[mask])


def test_determinism_fails_noise_between_runs_unless_declared(cases):
    r = record(cases, GIVEN_STATE, "float64", zoo.NoisyRuns(), "determinism")
    assert r["status"] == "fail" and "runs differ" in r["message"] and 0 < r["spread"]["max_abs"] < 1e-7

    class DeclaredNoisy(zoo.NoisyRuns):
        def capabilities(self):
            caps = super().capabilities()
            caps.deterministic = False
            return caps

    declared = record(cases, GIVEN_STATE, "float64", DeclaredNoisy(), "determinism")
    assert declared["status"] == "pass" and "declared nondeterministic; spread" in declared["message"]
    assert declared["spread"]["max_abs"] > 0
    assert record(cases, GIVEN_STATE, "float64", TorchLSTMAdapter(), "determinism")["spread"]["max_abs"] == 0


class NoisyGradients(NumpyAdapter):
    """numpy's LSTM whose forward pass is exact but whose gradient of x gets fresh noise
    on every call (1e-13: inside the gradients tolerance); with reuse_buffer, it returns the same float64 array every time, overwritten
    in place (an implementation reusing its gradient buffers)."""
    name = "noisy-gradients"

    def __init__(self, reuse_buffer=False):
        self.reuse_buffer, self._buffer = reuse_buffer, None

    def gradients(self, problem, upstream):
        grads = super().gradients(problem, upstream)
        noisy = grads["x"] + np.random.default_rng().normal(0.0, 1e-13, size=grads["x"].shape)
        if self.reuse_buffer:
            self._buffer = noisy if self._buffer is None else self._buffer
            self._buffer[...] = noisy
            noisy = self._buffer
        return dict(grads, x=noisy)


@pytest.mark.parametrize("reuse_buffer", [False, True], ids=["fresh-arrays", "reused-buffer"])
def test_determinism_fails_gradients_that_differ_between_calls(cases, reuse_buffer):
    # The determinism check compares the gradients the gradients check already computed with a
    # second call; they must be kept as copies, or a reused buffer would compare with itself.
    records = run_suite([cases[GIVEN_STATE]], [NoisyGradients(reuse_buffer)], ["float64"],
                        checks=["gradients", "determinism"])
    by_check = {r["check"]: r for r in records}
    assert by_check["gradients"]["status"] == "pass", by_check["gradients"]["message"]
    determinism = by_check["determinism"]
    assert determinism["status"] == "fail" and "gradients: grad x" in determinism["message"], determinism["message"]
    assert 0 < determinism["spread"]["max_abs"] < 1e-7


@pytest.mark.parametrize("mutant, what", [(zoo.AcceptsEmptySequence, "T = 0"),
                                          (zoo.CastsMixedDtypes, "x in float64, parameters in float32"),
                                          (zoo.TruncatesState, "h0 with one unit too many")])
def test_errors_check_fails_each_accepted_invalid_input(cases, mutant, what):
    r = record(cases, GIVEN_STATE, "float32", mutant(), "errors")
    assert r["status"] == "fail" and what in r["message"]
    assert [i["input"] for i in r["invalid_inputs"] if not i["raised"]] == [what]


def test_errors_check_gives_mixed_dtypes_only_to_adapters_that_take_them(cases):
    numpy = record(cases, GIVEN_STATE, "float32", NumpyAdapter(), "errors")
    torch_ = record(cases, GIVEN_STATE, "float32", TorchLSTMAdapter(), "errors")
    assert numpy["status"] == torch_["status"] == "pass"
    assert not any("float64" in i["input"] for i in numpy["invalid_inputs"])
    assert any("float64" in i["input"] for i in torch_["invalid_inputs"])


def test_library_error_cases_are_the_errors_check(cases):
    r = run_case(cases["err-seq-len-zero"], "float32", TorchLSTMAdapter())
    assert r["check"] == "errors" and r["status"] == "pass" and "rejected as required" in r["message"]


def test_strided_views_keep_values_and_reach_torch_non_contiguous(cases):
    problem = materialize(cases["layout-grid/batch-first/bidirectional"], "float32")
    strided = derive.strided_problem(problem)
    for name in ("x", "h0", "c0"):
        original, view = getattr(problem, name), getattr(strided, name)
        if original is not None:
            assert np.array_equal(original, view) and not view.flags.c_contiguous
    tensor = tensor_keeping_strides(strided.x, torch.float32)
    assert tensor.dtype == torch.float32 and not tensor.is_contiguous()
    assert np.array_equal(tensor.numpy(), problem.x.astype(np.float32))


def test_strided_check_catches_an_implementation_that_ignores_strides(cases):
    r = record(cases, GIVEN_STATE, "float32", zoo.StridesIgnored(), "strided")
    assert r["status"] == "fail" and "strided vs contiguous" in r["message"]
    assert record(cases, GIVEN_STATE, "float32", TorchLSTMAdapter(), "strided")["status"] == "pass"


def test_dtypes_check_catches_upcast_outputs(cases):
    r = record(cases, GIVEN_STATE, "float32", zoo.UpcastOutputs(), "dtypes")
    assert r["status"] == "fail" and "must keep the input dtype float32" in r["message"]


def test_half_precision_runs_are_added_for_adapters_that_declare_them(cases):
    records = run_suite([cases[GIVEN_STATE]], [TorchLSTMAdapter(), NumpyAdapter()], checks=["dtypes"])
    half = [(r["impl"], r["dtype"]) for r in records if r["dtype"] in ("float16", "bfloat16")]
    assert half == [("torch-lstm", "float16"), ("torch-lstm", "bfloat16")]  # numpy declares no half dtypes
    for r in records:
        assert r["status"] == "pass", r["message"]
        if r["dtype"] in ("float16", "bfloat16"):
            assert set(r["output_dtypes"].values()) == {r["dtype"]}
            assert {o["output"] for o in r["outputs"]} == {"y", "h_n", "c_n"}
            assert all(o["max_ulp"] > 0 and o["max_abs"] > 0 for o in r["outputs"])  # ULP beside abs and rel


def test_a_check_that_raises_in_the_adapter_is_an_error_not_a_crash(cases):
    class BrokenGradients(ControlLSTM):
        def gradients(self, problem, upstream):
            raise RuntimeError("backward exploded")

    records = run_checks(cases[GIVEN_STATE], "float32", BrokenGradients())
    by_check = {r["check"]: r for r in records}
    assert by_check["gradients"]["status"] == "error" and "backward exploded" in by_check["gradients"]["message"]
    assert by_check["forward"]["status"] == "pass"


def test_a_reverse_direction_activation_outside_the_declared_set_is_unsupported():
    from lstm_conformance.adapter import STANDARD_ONLY, Capabilities, unsupported_by
    from lstm_conformance.spec.loader import load_cases
    from lstm_conformance.spec.materialize import materialize
    case = next(c for c in load_cases() if c.config.num_directions == 2
                and not all(c.config.activation(r, 1) == c.config.activation(r, 0) for r in ("gate", "cell", "hidden"))
                and c.config.standard_activations is False
                and all(c.config.activation(r, 0).name in STANDARD_ONLY[r] and c.config.activation(r, 0).alpha is None
                        for r in ("gate", "cell", "hidden")))
    caps = Capabilities(dtypes={"float32", "float64"}, features=case.config.features() | {"initial_state", "bias"})
    reason = unsupported_by(caps, materialize(case, case.dtypes[0]))
    assert reason is not None and "activation" in reason
