"""The ONNX route as a building block (implementations/onnx_model.py): a 20-line adapter over it
passes the library like the built-in onnxruntime adapter; batch_first runs through the node's
layout = 1 (checked on ONNX's own reference evaluator, since onnxruntime rejects it);
sequence_lens is always an input; states of the wrong rank are rejected by the helper."""
import textwrap

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from lstm_conformance.adapter import Adapter  # noqa: E402
from lstm_conformance.implementations import onnx_model  # noqa: E402
from lstm_conformance.reference import lstm_forward  # noqa: E402
from lstm_conformance.harness.runner import run_case  # noqa: E402
from lstm_conformance.spec.loader import load_text  # noqa: E402
from fixtures.library import builtin_cases  # noqa: E402
from fixtures.onnxruntime_records import REFERENCES, onnxruntime_record  # noqa: E402
from lstm_conformance.spec.materialize import materialize  # noqa: E402


# ---------------------------------------------------------------- a runtime adapter in 20 lines
class MyOrtLSTM(Adapter):
    name = "my-ort"
    description = f"onnxruntime over onnx_model; {onnx_model.LAYOUT_FALLBACK}"

    def capabilities(self):
        return onnx_model.capabilities(dtypes={"float32"}, devices={"cpu"})

    def prepare(self, problem):
        if problem.batch == 0:
            raise RuntimeError("not run: onnxruntime aborts on batch 0")
        model = onnx_model.OnnxLSTM(problem, layout_attribute=False)  # onnxruntime rejects layout = 1
        session = ort.InferenceSession(model.serialized(), providers=["CPUExecutionProvider"])
        feeds = model.feeds
        return lambda: model.outputs(session.run(model.output_names, feeds))


class ReferenceEvaluatorLSTM(Adapter):
    """ONNX's own reference evaluator, which takes layout = 1 (but ignores sequence_lens,
    activations, clip, input_forget and direction = "reverse": only the plain cases suit it)."""
    name = "onnx-reference-evaluator"

    def capabilities(self):
        caps = onnx_model.capabilities(dtypes={"float32"}, devices={"cpu"})
        caps.features -= {"variable_lengths", "cell_clip", "input_forget", "reverse", "direction_activations"}
        caps.activations = {"gate": {"sigmoid"}, "cell": {"tanh"}, "hidden": {"tanh"}}
        return caps

    def prepare(self, problem):
        from onnx.reference import ReferenceEvaluator
        model = onnx_model.OnnxLSTM(problem)  # layout = 1 for batch_first
        session = ReferenceEvaluator(model.model)
        return lambda: model.outputs(session.run(model.output_names, model.feeds))


LIBRARY = [c for c in builtin_cases() if "float32" in c.dtypes]
CACHE = REFERENCES  # one reference cache with fixtures.onnxruntime_records


@pytest.mark.parametrize("case", LIBRARY, ids=lambda c: c.id)
def test_a_20_line_adapter_over_the_helper_passes_like_the_builtin_one(case):
    # statuses (and the reasons for unsupported) are compared, not the diagnosis of a failure
    mine = run_case(case, "float32", MyOrtLSTM(), CACHE, diagnose=False)
    builtin = onnxruntime_record(case, "float32")  # the built-in adapter's, shared with test_onnxruntime
    if case.id.startswith("err-seq-len-zero"):  # onnxruntime's Y_c for T = 0 is uninitialised memory
        return
    assert mine["status"] == builtin["status"], (mine["message"], builtin["message"])
    if builtin["status"] == "unsupported":
        assert mine["message"] == builtin["message"]


def test_the_adapter_over_the_helper_is_about_20_lines():
    import inspect
    lines = [line for line in inspect.getsource(MyOrtLSTM).splitlines() if line.strip()]
    assert len(lines) <= 20


BATCH_FIRST = [c for c in LIBRARY if c.config.batch_first and not c.config.unbatched]


def test_the_library_has_batch_first_cases_and_their_models_use_layout_1():
    assert len(BATCH_FIRST) >= 3
    for case in BATCH_FIRST:
        problem = materialize(case, "float32")
        if problem.config.proj_size:
            continue
        model = onnx_model.OnnxLSTM(problem)
        assert model.layout == 1
        for layer in range(problem.config.num_layers):
            assert model.node_attributes(layer)["layout"] == 1
        assert [n.op_type for n in model.model.graph.node].count("Transpose") <= 2  # only the states
        fallback = onnx_model.OnnxLSTM(problem, layout_attribute=False)
        assert fallback.node_attributes()["layout"] == 0 and onnx_model.LAYOUT_FALLBACK in fallback.emulated


EVALUATOR_CASES = load_text(textwrap.dedent("""
    group: onnx-model
    cases:
      - id: layout1-state
        about: batch_first with initial states, through layout = 1
        shape: {seq_len: 4, batch: 3, input_size: 3, hidden_size: 5}
        seed: 71
        dtypes: [float32]
        options: {batch_first: true}
        inputs: {h0: {uniform: [-1, 1]}, c0: {uniform: [-1, 1]}}
      - id: layout1-bidirectional-stack
        about: batch_first, two directions, two layers, peepholes, states split per layer
        shape: {seq_len: 5, batch: 2, input_size: 3, hidden_size: 4}
        seed: 72
        dtypes: [float32]
        options: {batch_first: true, bidirectional: true, num_layers: 2, peepholes: true}
        inputs: {h0: {uniform: [-1, 1]}, c0: {uniform: [-1, 1]}}
      - id: layout0-stack
        about: time-major, two layers, for comparison
        shape: {seq_len: 5, batch: 2, input_size: 3, hidden_size: 4}
        seed: 73
        dtypes: [float32]
        options: {num_layers: 2}
        inputs: {h0: {uniform: [-1, 1]}}
"""), file="test_onnx_model.py")


@pytest.mark.parametrize("case", EVALUATOR_CASES + [c for c in BATCH_FIRST if not c.config.proj_size
                                                    and "lengths" not in c.inputs and c.config.standard_activations
                                                    and c.config.direction != "reverse" and not c.config.input_forget],
                         ids=lambda c: c.id)
def test_layout_1_on_onnx_reference_evaluator(case):
    r = run_case(case, "float32", ReferenceEvaluatorLSTM(), CACHE, check="forward")
    assert r["status"] == "pass", r["message"]


def test_onnxruntime_still_rejects_layout_1():
    """Why the built-in adapter declares the fallback. If this fails, onnxruntime takes
    layout = 1 now: drop layout_attribute=False from OnnxRuntimeAdapter.prepare."""
    problem = materialize(EVALUATOR_CASES[0], "float32")
    with pytest.raises(Exception, match="layout == 1"):
        ort.InferenceSession(onnx_model.OnnxLSTM(problem).serialized(), providers=["CPUExecutionProvider"])


def test_sequence_lens_is_always_an_input():
    problem = materialize(EVALUATOR_CASES[2], "float32")  # no lengths
    model = onnx_model.OnnxLSTM(problem)
    assert model.feeds["sequence_lens"].tolist() == [5, 5] and model.feeds["sequence_lens"].dtype == np.int32
    for node in model.model.graph.node:
        if node.op_type == "LSTM":
            assert node.input[4] == "sequence_lens"


def test_the_helper_rejects_states_of_the_wrong_rank():
    import dataclasses
    unbatched = next(c for c in builtin_cases() if c.id == "unbatched-with-state")
    problem = materialize(unbatched, "float32")
    with pytest.raises(ValueError, match="h0 must have 2 dimensions"):
        onnx_model.OnnxLSTM(dataclasses.replace(problem, h0=problem.h0[:, None, :]))
    stack = materialize(EVALUATOR_CASES[1], "float32")
    with pytest.raises(ValueError, match="L·D = 4 slices"):
        onnx_model.OnnxLSTM(dataclasses.replace(stack, c0=stack.c0[:2]))
    with pytest.raises(ValueError, match="3 dimensions"):
        onnx_model.OnnxLSTM(dataclasses.replace(stack, h0=stack.h0[0]))


def test_outputs_match_the_reference_in_both_layouts():
    problem = materialize(EVALUATOR_CASES[1], "float32")
    expected = lstm_forward(problem.config, problem.x, problem.params, problem.h0, problem.c0)
    from onnx.reference import ReferenceEvaluator
    for layout_attribute in (True, False):
        model = onnx_model.OnnxLSTM(problem, layout_attribute=layout_attribute)
        got = model.outputs(ReferenceEvaluator(model.model).run(model.output_names, model.feeds))
        for name in ("y", "h_n", "c_n"):
            np.testing.assert_allclose(got[name], getattr(expected, name), atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("layout_attribute", [True, False])
def test_empty_outputs_map_back(layout_attribute):
    """T = 0 (and B = 0) results come back with the canonical empty shapes (a reshape with -1
    cannot do that), so that the errors check sees what the runtime returned."""
    import dataclasses
    problem = materialize(EVALUATOR_CASES[1], "float32")  # batch_first, D = 2, L = 2, H = 4, B = 2
    model = onnx_model.OnnxLSTM(dataclasses.replace(problem, x=problem.x[:, :0]), layout_attribute=layout_attribute)
    y = np.zeros((2, 0, 2, 4) if model.layout == 1 else (0, 2, 2, 4))
    states = [np.zeros((2, 2, 4))] * 4
    got = model.outputs([y] + states)
    assert got["y"].shape == (2, 0, 8) and got["h_n"].shape == (4, 2, 4)
