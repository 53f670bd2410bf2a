"""The onnxruntime findings (implementations/expectations/onnxruntime.yaml), each reproduced with
onnx, onnxruntime and NumPy only: no lstm_conformance import, so a test can go into an upstream
issue as it is. Each asserts the defect; when onnxruntime fixes one, its test fails and the
entry goes. The expected values follow the ONNX LSTM operator text
(https://onnx.ai/onnx/operators/onnx__LSTM.html): gates in the order i, o, f, c; defaults of
the activations' parameters are those of the corresponding ONNX operators."""
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnxruntime findings need onnx: pip install lstm-conformance[onnx]")
ort = pytest.importorskip("onnxruntime", reason="the onnxruntime findings need onnxruntime: pip install "
                                                "lstm-conformance[onnx]")
from onnx import TensorProto, helper  # noqa: E402

H, I = 1, 1  # one unit and one input feature: every number below can be checked by hand


def run_lstm(x, w, r, b, initial_h=None, initial_c=None, **attributes):
    """Y, Y_h, Y_c of one ONNX LSTM node (opset 14) run by onnxruntime on the CPU."""
    hidden = w.shape[1] // 4
    inputs = {"X": x, "W": w, "R": r, "B": b, "sequence_lens": None, "initial_h": initial_h, "initial_c": initial_c}
    names = [name if value is not None else "" for name, value in inputs.items()]
    while names and names[-1] == "":
        names.pop()
    node = helper.make_node("LSTM", names, ["Y", "Y_h", "Y_c"], hidden_size=hidden, **attributes)
    graph = helper.make_graph(
        [node], "lstm",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(inputs[n].shape)) for n in names if n],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "Y_h", "Y_c")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {n: inputs[n] for n in names if n})


def f32(*values, shape):
    return np.array(values, dtype=np.float32).reshape(shape)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def constant_gates(i, o, f, c):
    """W and R zero, so every gate's pre-activation is its Wb bias: (W, R, B) for H = I = 1."""
    w = np.zeros((1, 4, 1), np.float32)
    return w, w.copy(), f32(i, o, f, c, 0, 0, 0, 0, shape=(1, 8))


def test_psi_input_not_clipped():
    """clip: 'Cell clip threshold ... applied to the input of activations' (ONNX LSTM). The gate
    pre-activations (0.3) are inside the clip; the cell state c' ≈ 1.89 is not, so the spec gives
    h = σ(0.3)·tanh(clip(c')) = σ(0.3)·tanh(0.5); onnxruntime gives σ(0.3)·tanh(c')."""
    w, r, b = constant_gates(0.3, 0.3, 0.3, 0.3)
    x, c0 = np.zeros((1, 1, 1), np.float32), np.full((1, 1, 1), 3.0, np.float32)
    _y, y_h, y_c = run_lstm(x, w, r, b, initial_c=c0, clip=0.5)
    c_next = sigmoid(0.3) * 3.0 + sigmoid(0.3) * np.tanh(0.3)
    assert y_c[0, 0, 0] == pytest.approx(c_next, rel=1e-5)  # the state itself is right
    spec = sigmoid(0.3) * np.tanh(0.5)
    assert y_h[0, 0, 0] == pytest.approx(sigmoid(0.3) * np.tanh(c_next), rel=1e-5)  # what onnxruntime does
    assert abs(y_h[0, 0, 0] - spec) > 0.1  # ...which is not what the spec says


def _with_cell_activation(name, **parameters):
    """x = 1 through the cell activation g with i = o = f pre-activations 0 and c0 = 0:
    c' = σ(0)·g(1) = g(1) / 2, h = σ(0)·tanh(c')."""
    w = f32(0, 0, 0, 1, shape=(1, 4, 1))  # only g sees x
    r, b = np.zeros((1, 4, 1), np.float32), np.zeros((1, 8), np.float32)
    x = np.ones((1, 1, 1), np.float32)
    _y, _y_h, y_c = run_lstm(x, w, r, b, activations=["Sigmoid", name, "Tanh"], **parameters)
    return float(y_c[0, 0, 0])


def test_affine_without_alpha_and_beta_is_identically_zero():
    """The ONNX LSTM text: activation_alpha / beta default to those of the corresponding
    operators; Affine (alpha·x + beta) has alpha 1.0, beta 0.0, so g(1) = 1 and c' = 0.5.
    onnxruntime uses alpha 0, beta 0: g ≡ 0 and c' = 0."""
    assert _with_cell_activation("Affine", activation_alpha=[1.0], activation_beta=[0.0]) == pytest.approx(0.5)
    assert _with_cell_activation("Affine") == 0.0  # the spec's default gives 0.5


def test_thresholded_relu_without_alpha_uses_zero():
    """ThresholdedRelu's default alpha is 1.0 (the ONNX ThresholdedRelu operator): g(1) = 0 (1 is
    not above 1), c' = 0. onnxruntime uses alpha 0: g(1) = 1, c' = 0.5."""
    assert _with_cell_activation("ThresholdedRelu", activation_alpha=[1.0]) == 0.0
    assert _with_cell_activation("ThresholdedRelu") == pytest.approx(0.5)  # the spec's default gives 0


def test_softplus_overflows_to_inf_in_float32():
    """Softplus is log(1 + e^x), finite for every finite x (≈ x for large x). With the cell
    activation Softplus and g's pre-activation 100, the spec gives c' = σ(0)·100 = 50;
    onnxruntime computes log(1 + exp(100)) in float32, where exp(100) overflows: c' is inf."""
    w = f32(0, 0, 0, 100, shape=(1, 4, 1))
    r, b = np.zeros((1, 4, 1), np.float32), np.zeros((1, 8), np.float32)
    _y, _y_h, y_c = run_lstm(np.ones((1, 1, 1), np.float32), w, r, b, activations=["Sigmoid", "Softplus", "Tanh"])
    assert not np.isfinite(y_c[0, 0, 0])  # the spec: 50


def test_zero_steps_return_zeros_in_place_of_the_initial_state():
    """T = 0 with an initial state: the spec (SPEC.md §9, from the ONNX recurrence) accepts a
    rejection or the initial state as the final state; onnxruntime returns zeros."""
    w, r, b = constant_gates(0.1, 0.2, 0.3, 0.4)
    h0, c0 = np.full((1, 2, 1), 0.5, np.float32), np.full((1, 2, 1), 2.0, np.float32)
    _y, y_h, _y_c = run_lstm(np.zeros((0, 2, 1), np.float32), w, r, b, initial_h=h0, initial_c=c0)
    assert np.all(y_h == 0.0)  # the initial state is 0.5


BATCH_0 = textwrap.dedent("""
    import numpy as np, onnxruntime as ort
    from onnx import TensorProto, helper
    node = helper.make_node("LSTM", ["X", "W", "R"], ["Y", "Y_h", "Y_c"], hidden_size=2)
    graph = helper.make_graph([node], "lstm",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [3, 0, 2]),
         helper.make_tensor_value_info("W", TensorProto.FLOAT, [1, 8, 2]),
         helper.make_tensor_value_info("R", TensorProto.FLOAT, [1, 8, 2])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "Y_h", "Y_c")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = session.run(None, {"X": np.zeros((3, 0, 2), np.float32), "W": np.ones((1, 8, 2), np.float32),
                                 "R": np.ones((1, 8, 2), np.float32)})
    print([o.shape for o in outputs])
""")


def test_batch_size_zero_aborts_the_process():
    """B = 0 is a valid input with empty outputs (Y of shape (3, 1, 0, 2)); onnxruntime aborts
    the whole process ('terminate called without an active exception', SIGABRT)."""
    control = BATCH_0.replace("[3, 0, 2]", "[3, 1, 2]").replace("(3, 0, 2)", "(3, 1, 2)")
    done = subprocess.run([sys.executable, "-c", control], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "(3, 1, 1, 2)" in done.stdout, done.stderr  # B = 1 runs
    done = subprocess.run([sys.executable, "-c", BATCH_0], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGABRT, done.stdout + done.stderr
