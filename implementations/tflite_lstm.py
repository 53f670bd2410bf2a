"""`tflite`: TensorFlow Lite's fused LSTM kernel, the UNIDIRECTIONAL_SEQUENCE_LSTM builtin op
(tensorflow/lite/kernels/unidirectional_sequence_lstm.cc with lstm_eval.cc), run by the TFLite
interpreter on the CPU (its builtin kernels, without the default XNNPACK delegate): LiteRT's
(`ai_edge_litert`, the package TFLite moved to; tf.lite.Interpreter is deprecated) when it is
installed, else TensorFlow's.

How the model is made: the adapter writes a TFLite flatbuffer holding exactly one
UNIDIRECTIONAL_SEQUENCE_LSTM operator, with the problem's parameters as constant tensors
(reference/layouts/tflite.py names and shapes them) and h0, c0 as the op's variable state
tensors, using TFLite's own schema (schema_py_generated, shipped by both packages). It does not go
through tf.lite.TFLiteConverter: with TensorFlow 2.21 the converter turns a Keras LSTM layer
(Keras 3, and tf_keras 2.21 too) into a WHILE loop of primitive ops, not the fused op
(measured; tensorflow/tensorflow#126061: fused with Keras 2.15, a WHILE loop with Keras 3),
it takes seconds a model, and it cannot express peepholes, a projection, clips or layer norm
from a Keras layer. Writing the operator directly reaches every option of the fused kernel;
`prepare` checks in the interpreter's op list that the one op is UNIDIRECTIONAL_SEQUENCE_LSTM.

The op's options: `cell_clip` clips the carried cell state (the spec's state_clip, SPEC.md §2
and §12), `proj_clip` the projected output (proj_clip), `time_major` False is batch_first. The
op has one bias per gate (b_ih + b_hh; zeros without bias: the op has no bias-free form) and
its single output is y; h_n and c_n are read from its state tensors after the run (the kernel
updates them in place), which are set again from h0 and c0 before every run.
The runtime is an optional extra and is imported only in prepare.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Optional

import numpy as np

from ..adapter import Adapter, Capabilities
from ..reference.layouts import cell_params, to_tflite
from .canonical_inputs import check_parameters, check_x, states_or_zeros

INSTALL_HINT = "pip install lstm-conformance[tflite] (LiteRT) or lstm-conformance[tensorflow]"
OP_NAME = "UNIDIRECTIONAL_SEQUENCE_LSTM"

# The op's 24 inputs in order (lstm_shared.h); None marks the input and state tensors.
INPUTS = ("input",
          "input_to_input_weights", "input_to_forget_weights", "input_to_cell_weights", "input_to_output_weights",
          "recurrent_to_input_weights", "recurrent_to_forget_weights", "recurrent_to_cell_weights",
          "recurrent_to_output_weights",
          "cell_to_input_weights", "cell_to_forget_weights", "cell_to_output_weights",
          "input_gate_bias", "forget_gate_bias", "cell_gate_bias", "output_gate_bias",
          "projection_weights", "projection_bias",
          "output_state", "cell_state",
          "input_layer_norm_coefficients", "forget_layer_norm_coefficients", "cell_layer_norm_coefficients",
          "output_layer_norm_coefficients")

REASONS = {
    "dtype": "the float UNIDIRECTIONAL_SEQUENCE_LSTM kernel computes in float32 (other types are its quantized paths)",
    "activations": "the op's gates are sigmoid; only the cell activation is an option (fused_activation_function), "
                   "and the adapter sets it to tanh",
    "layers": "UNIDIRECTIONAL_SEQUENCE_LSTM is one layer (a stack is several ops)",
    "bidirectional": "UNIDIRECTIONAL_SEQUENCE_LSTM runs one direction (BIDIRECTIONAL_SEQUENCE_LSTM is another op)",
    "reverse": "UNIDIRECTIONAL_SEQUENCE_LSTM runs forward in time only",
    "direction_activations": "UNIDIRECTIONAL_SEQUENCE_LSTM runs one direction",
    "variable_lengths": "UNIDIRECTIONAL_SEQUENCE_LSTM has no per-row sequence lengths",
    "unbatched": "UNIDIRECTIONAL_SEQUENCE_LSTM takes a 3-D input only",
    "cell_clip": "the op's cell_clip clips the cell state itself (the spec's state_clip), not the activation "
                 "inputs (ONNX clip)",
    "input_forget": "TFLite's CIFG couples the gates the other way round (i = 1 - f), which the spec's "
                    "input_forget (f = 1 - i) does not express",
    "forget_bias": "UNIDIRECTIONAL_SEQUENCE_LSTM has no run-time forget-gate bias",
    "peephole_output_previous": "the op's output-gate peephole sees the new cell state",
    "padding_carry": "UNIDIRECTIONAL_SEQUENCE_LSTM has no per-row sequence lengths",
}


def runtime() -> str:
    """The TFLite runtime used: LiteRT (ai-edge-litert, TFLite's successor package, which ships the
    same interpreter and schema without TensorFlow) when installed, else TensorFlow's tf.lite."""
    if importlib.util.find_spec("ai_edge_litert") is not None:
        return "ai_edge_litert"
    if importlib.util.find_spec("tensorflow") is not None:
        return "tensorflow"
    return ""


def missing_package() -> Optional[str]:
    return None if runtime() else "ai-edge-litert or tensorflow"


def tflite_modules():
    """(schema module, Interpreter class, OpResolverType) of the runtime in use."""
    if runtime() == "ai_edge_litert":
        from ai_edge_litert import interpreter
        from ai_edge_litert import schema_py_generated as schema
        return schema, interpreter.Interpreter, interpreter.OpResolverType
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as schema
    return schema, tf.lite.Interpreter, tf.lite.experimental.OpResolverType


def build_model(problem, h0: np.ndarray, c0: np.ndarray) -> bytes:
    """A TFLite flatbuffer with one UNIDIRECTIONAL_SEQUENCE_LSTM op for `problem` (float32)."""
    import flatbuffers

    schema = tflite_modules()[0]

    cfg = problem.config
    hidden = cfg.hidden_size
    weights = to_tflite(cell_params(problem.params))
    if not cfg.bias:  # the op has no bias-free form: zero gate biases compute the same function
        weights.update({f"{gate}_gate_bias": np.zeros(hidden) for gate in ("input", "forget", "cell", "output")})
    arrays = {"input": np.asarray(problem.x), "output_state": h0[0], "cell_state": c0[0], **weights}

    model, graph = schema.ModelT(), schema.SubGraphT()
    model.version, model.buffers, graph.tensors = 3, [schema.BufferT()], []  # buffer 0: the empty one
    indices = []
    for name in INPUTS:
        if name not in arrays:
            indices.append(-1)  # an optional input the problem does not use
            continue
        value = np.ascontiguousarray(arrays[name], dtype=np.float32)
        tensor = schema.TensorT()
        tensor.name, tensor.shape, tensor.type = name.encode(), list(value.shape), schema.TensorType.FLOAT32
        buffer = schema.BufferT()
        if name in ("output_state", "cell_state"):
            tensor.isVariable = True  # set before each run; the kernel writes the final state into it
        elif name != "input":
            buffer.data = np.frombuffer(value.tobytes(), dtype=np.uint8)
        model.buffers.append(buffer)
        tensor.buffer = len(model.buffers) - 1
        graph.tensors.append(tensor)
        indices.append(len(graph.tensors) - 1)
    out_shape = list(np.shape(problem.x)[:-1]) + [cfg.output_size]
    output = schema.TensorT()
    output.name, output.shape, output.type, output.buffer = b"output", out_shape, schema.TensorType.FLOAT32, 0
    graph.tensors.append(output)

    options = schema.UnidirectionalSequenceLSTMOptionsT()
    options.fusedActivationFunction = schema.ActivationFunctionType.TANH
    options.cellClip = float(cfg.state_clip or 0.0)  # 0: no clip
    options.projClip = float(cfg.proj_clip or 0.0)
    options.timeMajor = not cfg.batch_first
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, indices, [len(graph.tensors) - 1]
    op.builtinOptionsType = schema.BuiltinOptions.UnidirectionalSequenceLSTMOptions
    op.builtinOptions = options
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM
    code.version = 3 if cfg.layer_norm else 1
    graph.inputs = [indices[0], indices[INPUTS.index("output_state")], indices[INPUTS.index("cell_state")]]
    graph.outputs, graph.operators = [len(graph.tensors) - 1], [op]
    model.operatorCodes, model.subgraphs = [code], [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def interpreter_for(content: bytes):
    _, interpreter_class, resolvers = tflite_modules()
    interpreter = interpreter_class(model_content=content,
                                    experimental_op_resolver_type=resolvers.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    names = [op["op_name"] for op in interpreter._get_ops_details()]
    if names != [OP_NAME]:
        raise RuntimeError(f"the TFLite model runs {names}, not the one fused {OP_NAME} op")
    interpreter.allocate_tensors()
    return interpreter


class TFLiteLSTMAdapter(Adapter):
    name = "tflite"
    description = ("TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM op (one op per model, checked in the interpreter's "
                   "op list), run by the LiteRT interpreter (ai-edge-litert; else tf.lite.Interpreter) with its "
                   "builtin CPU kernels; the model is written with TFLite's schema, as TFLiteConverter turns a "
                   "Keras 3 LSTM into a WHILE loop of primitive ops")

    def skip_reason(self) -> Optional[str]:
        missing = missing_package()
        return f"{missing} not installed ({INSTALL_HINT})" if missing else None

    def capabilities(self) -> Capabilities:
        return Capabilities(dtypes={"float32"}, devices={"cpu"},
                            features={"bias", "initial_state", "peepholes", "projection", "batch_first",
                                      "state_clip", "proj_clip", "layer_norm"},
                            reasons=dict(REASONS))

    def unsupported_reason(self, problem):
        cfg = problem.config
        if cfg.proj_size and cfg.proj_size >= cfg.hidden_size:
            # SPEC.md §9 takes PyTorch's rule; the TFLite op (like TF1's LSTMCell num_proj) projects to any size
            return (f"proj_size {cfg.proj_size} >= hidden_size {cfg.hidden_size} is PyTorch's error, not TFLite's: "
                    "the op's projection_weights may have any number of rows, so this rule cannot be tested on it")
        return super().unsupported_reason(problem)

    def prepare(self, problem):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        check_parameters(problem)
        check_x(problem)  # rank 3: unbatched is declared unsupported
        h0, c0 = states_or_zeros(problem)
        interpreter = interpreter_for(build_model(problem, h0, c0))
        details = {d["name"]: d["index"] for d in interpreter.get_tensor_details()}
        x = np.ascontiguousarray(problem.x, dtype=np.float32)
        h_start, c_start = h0[0].astype(np.float32), c0[0].astype(np.float32)
        output = interpreter.get_output_details()[0]["index"]

        def run():
            interpreter.set_tensor(details["input"], x)
            interpreter.set_tensor(details["output_state"], h_start)
            interpreter.set_tensor(details["cell_state"], c_start)
            interpreter.invoke()
            return {"y": interpreter.get_tensor(output),
                    "h_n": interpreter.get_tensor(details["output_state"])[None],
                    "c_n": interpreter.get_tensor(details["cell_state"])[None]}

        return run
