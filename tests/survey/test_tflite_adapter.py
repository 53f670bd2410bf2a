"""The tflite adapter: TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM op passes a few dozen library
cases (peepholes, projection, state and projection clips, layer norm, batch_first included),
the model really runs that one op, a deliberately broken conversion fails, and the reason the
adapter writes the model itself (the converter's WHILE loop) still holds."""
import importlib.util
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from library_checks import assert_fails, assert_passes, broken_adapter, input_and_forget_swapped, library_records  # noqa: E402

from lstm_conformance.implementations import tflite_lstm  # noqa: E402
from lstm_conformance.implementations.tflite_lstm import TFLiteLSTMAdapter  # noqa: E402

if not tflite_lstm.runtime():
    pytest.skip("neither ai-edge-litert nor tensorflow is installed (pip install lstm-conformance[tflite])",
                allow_module_level=True)
RUNTIMES = [r for r in ("ai_edge_litert", "tensorflow") if importlib.util.find_spec(r) is not None]


@pytest.fixture(params=RUNTIMES)
def each_runtime(request, monkeypatch):
    """Run the test with each installed runtime (LiteRT, TensorFlow's tf.lite)."""
    monkeypatch.setattr(tflite_lstm, "runtime", lambda: request.param)
    return request.param

CASES = ["random/t5b3i4h7/*", "random/t20b4i16h32/*", "peepholes", "projection", "layer-norm*", "proj-clip-binds",
         "state-clip-binds", "batch-first*", "h0-only", "c0-only", "gate-blocks-distinguishable", "batch-0"]


def test_tflite_passes(each_runtime):
    records = library_records(TFLiteLSTMAdapter(), CASES, ("forward", "errors"), ("float32",))
    assert_passes(records, at_least=25)
    ran = {r["case"] for r in records}
    assert {"peepholes", "projection", "proj-clip-binds", "state-clip-binds"} <= ran
    assert any(c.startswith("layer-norm") for c in ran)


def test_the_model_is_one_fused_op_with_the_options_set(each_runtime):
    from lstm_conformance.spec.model import LSTMConfig, Problem, parameter_shapes

    config = LSTMConfig(input_size=3, hidden_size=5, proj_size=2, peepholes=True, layer_norm=True,
                        state_clip=0.5, proj_clip=0.25, batch_first=True)
    rng = np.random.default_rng(0)
    params = {n: rng.uniform(-1, 1, shape) for n, shape in parameter_shapes(config).items()}
    problem = Problem("one-op", "float32", config, rng.uniform(-1, 1, (2, 4, 3)), params)
    interpreter = tflite_lstm.interpreter_for(tflite_lstm.build_model(problem, np.zeros((1, 2, 2)), np.zeros((1, 2, 5))))
    (op,) = interpreter._get_ops_details()
    assert op["op_name"] == "UNIDIRECTIONAL_SEQUENCE_LSTM"
    names = {d["index"]: d["name"] for d in interpreter.get_tensor_details()}
    used = {names[i] for i in op["inputs"] if i >= 0}
    assert {"cell_to_output_weights", "projection_weights", "cell_layer_norm_coefficients"} <= used
    assert "projection_bias" not in used


def test_a_broken_conversion_fails():
    """The input and forget blocks of weight_ih swapped: a wrong conversion to the op's tensors."""
    adapter = broken_adapter(TFLiteLSTMAdapter, tflite_lstm, "cell_params", input_and_forget_swapped("weight_ih"))
    assert_fails(library_records(adapter, CASES, ("forward",), ("float32",)), at_least=15)


def test_the_converter_still_unrolls_a_keras_lstm():
    """Why the adapter writes the model itself: TFLiteConverter turns a Keras 3 LSTM layer into a
    WHILE loop of primitive ops (tensorflow/tensorflow#126061). When this fails, the converter
    fuses again: reconsider converting through it (implementations/tflite_lstm.py)."""
    tf = pytest.importorskip("tensorflow", reason="tensorflow not installed")
    keras = pytest.importorskip("keras", reason="keras not installed")
    inputs = keras.Input(shape=(5, 4), batch_size=2)
    model = keras.Model(inputs, keras.layers.LSTM(3, return_sequences=True)(inputs))
    content = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    names = [op["op_name"] for op in tf.lite.Interpreter(model_content=content)._get_ops_details()]
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in names and "WHILE" in names, names
