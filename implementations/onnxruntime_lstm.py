"""`onnxruntime`: the ONNX LSTM operator run by onnxruntime on the CPU.

The problem becomes an ONNX model: one LSTM node per layer (ONNX's LSTM is one layer), with
W, R, B, P from reference.layouts.onnx as initializers, and between layers a Transpose and
Reshape from Y [T, D, B, H] to the next layer's input [T, B, D·H]. Options map to the node:
direction forward/bidirectional, activations with activation_alpha/beta, clip, input_forget,
sequence_lens, initial_h, initial_c. onnx and onnxruntime are an optional extra and are
imported only when a model is built.

What the adapter does itself, outside onnxruntime: the batch_first and unbatched layouts
(ORT refuses the node's layout=1 attribute: "Batchwise recurrent operations (layout == 1)
are not supported"), so inputs are transposed/expanded in prepare and outputs brought back
to canonical layout after the run; and the identity activation, written as ONNX's
Affine(alpha=1, beta=0), which is the same function.
"""
from __future__ import annotations

import importlib.util
from typing import Optional

import numpy as np

from ..adapter import Adapter, Capabilities
from ..reference.layouts.onnx import to_onnx, y_to_canonical

INSTALL_HINT = "pip install lstm-conformance[onnx]"
OPSET = 17  # LSTM-14 is the current definition at this opset (LSTM-22 only adds types)
IR_VERSION = 8  # the IR version that goes with opset 17

# Spec activation name -> ONNX activation name (ONNX LSTM spec, "Activation functions").
ONNX_ACTIVATIONS = {
    "sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "affine": "Affine", "leaky_relu": "LeakyRelu",
    "thresholded_relu": "ThresholdedRelu", "scaled_tanh": "ScaledTanh", "hard_sigmoid": "HardSigmoid",
    "elu": "Elu", "softsign": "Softsign", "softplus": "Softplus",
    "identity": "Affine",  # with alpha 1, beta 0
}
# Which ONNX activations consume a value from activation_alpha / activation_beta, and the
# defaults ONNX gives them ("the same as of corresponding ONNX operators").
TAKES_ALPHA = {"Affine": 1.0, "LeakyRelu": 0.01, "ThresholdedRelu": 1.0, "ScaledTanh": None,
               "HardSigmoid": 0.2, "Elu": 1.0}
TAKES_BETA = {"Affine": 0.0, "ScaledTanh": None, "HardSigmoid": 0.5}

REASONS = {
    "dtype": "onnxruntime's CPU LSTM kernel computes in float32 only "
             "(float64 fails with 'LSTM operator does not support double yet')",
    "projection": "the ONNX LSTM operator has no projection (weight_hr)",
    "forget_bias": "the ONNX LSTM operator has no run-time forget-gate bias",
}


# Found with this suite (onnxruntime 1.32.0, CPU): session.run of an LSTM node with batch
# size 0 aborts the Python process (SIGABRT, "terminate called without an active exception")
# instead of returning empty outputs. The adapter refuses to call it so that the run survives;
# tests/implementations/test_onnxruntime.py checks that the abort still happens.
BATCH_0_ABORT = ("not run: onnxruntime aborts the whole process (SIGABRT, 'terminate called without an "
                 "active exception') on an LSTM with batch size 0")


def missing_package() -> Optional[str]:
    for package in ("onnxruntime", "onnx"):
        if importlib.util.find_spec(package) is None:
            return package
    return None


def activation_attributes(config) -> dict:
    """activations, activation_alpha, activation_beta for the node, or {} for the defaults.

    alpha and beta are flat lists consumed in order by the activations that take them. A
    value the problem leaves unset is left out when nothing after it is set, so ONNX's
    default applies; before a set value it must be written, and ONNX's default is written."""
    if config.standard_activations:
        return {}
    names, alphas, betas = [], [], []
    for _ in range(config.num_directions):
        for act in config.activations:
            name = ONNX_ACTIVATIONS[act.name]
            alpha, beta = (1.0, 0.0) if act.name == "identity" else (act.alpha, act.beta)
            names.append(name)
            if name in TAKES_ALPHA:
                alphas.append((alpha, TAKES_ALPHA[name], act))
            if name in TAKES_BETA:
                betas.append((beta, TAKES_BETA[name], act))
    attrs = {"activations": names}
    for key, values in (("activation_alpha", alphas), ("activation_beta", betas)):
        last_set = max((k for k, (value, _, _) in enumerate(values) if value is not None), default=-1)
        written = []
        for value, default, act in values[:last_set + 1]:
            if value is None and default is None:
                raise ValueError(f"activation {act} needs an explicit {key[11:]} (ONNX gives it no default)")
            written.append(float(default if value is None else value))
        if written:
            attrs[key] = written
    return attrs


def build_model(problem):
    """The ONNX model of the problem: graph inputs X [T, B, I] and, when given, sequence_lens,
    initial_h, initial_c; outputs Y (last layer) and Y_h_l{k}, Y_c_l{k} of every layer."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    config = problem.config
    direction = "bidirectional" if config.bidirectional else "forward"
    attrs = {"hidden_size": config.hidden_size, "direction": direction, **activation_attributes(config)}
    if config.cell_clip is not None:
        attrs["clip"] = float(config.cell_clip)
    if config.input_forget:
        attrs["input_forget"] = 1

    feeds = feeds_for(problem)  # only for the shapes of the graph inputs

    def value_info(name, rank=None):
        shape = feeds[name].shape if rank is None else [None] * rank
        elem = TensorProto.INT32 if name == "sequence_lens" else TensorProto.FLOAT
        return helper.make_tensor_value_info(name, elem, shape)

    graph_inputs, nodes, initializers, outputs = [value_info("X")], [], [], []
    if problem.lengths is not None:
        graph_inputs.append(value_info("sequence_lens"))
    initializers.append(numpy_helper.from_array(np.array([0, 0, -1], dtype=np.int64), "to_sequence_shape"))
    # initial_h / initial_c come whole, (L·D, B, H), so that onnxruntime checks their shape;
    # with several layers a Split (which also checks the sizes) gives each node its [D, B, H].
    states = [state for state, value in (("initial_h", problem.h0), ("initial_c", problem.c0)) if value is not None]
    for state in states:
        graph_inputs.append(value_info(state))
        if config.num_layers > 1:
            sizes = np.full(config.num_layers, config.num_directions, dtype=np.int64)
            initializers.append(numpy_helper.from_array(sizes, f"{state}_sizes"))
            nodes.append(helper.make_node("Split", [state, f"{state}_sizes"],
                                          [f"{state}_l{k}" for k in range(config.num_layers)], axis=0))

    layer_input = "X"
    for layer in range(config.num_layers):
        tensors = to_onnx(problem.params, layer)
        names = {}
        for key in ("W", "R", "B", "P"):
            if key in tensors:
                names[key] = f"{key}_l{layer}"
                initializers.append(numpy_helper.from_array(tensors[key].astype(np.float32), names[key]))
        for state in states:
            names[state] = state if config.num_layers == 1 else f"{state}_l{layer}"
        if problem.lengths is not None:
            names["sequence_lens"] = "sequence_lens"
        order = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
        node_inputs = [layer_input] + [names.get(key, "") for key in order[1:]]
        while node_inputs[-1] == "":  # trailing optional inputs are left out
            node_inputs.pop()
        y_name = "Y" if layer == config.num_layers - 1 else f"Y_l{layer}"
        nodes.append(helper.make_node("LSTM", node_inputs, [y_name, f"Y_h_l{layer}", f"Y_c_l{layer}"],
                                      name=f"lstm_l{layer}", **attrs))
        outputs += [f"Y_h_l{layer}", f"Y_c_l{layer}"]
        if layer < config.num_layers - 1:  # [T, D, B, H] -> [T, B, D·H] for the next layer
            nodes.append(helper.make_node("Transpose", [y_name], [f"Y_tbdh_l{layer}"], perm=[0, 2, 1, 3]))
            nodes.append(helper.make_node("Reshape", [f"Y_tbdh_l{layer}", "to_sequence_shape"],
                                          [f"X_l{layer + 1}"]))
            layer_input = f"X_l{layer + 1}"
    graph = helper.make_graph(nodes, "lstm_conformance", graph_inputs,
                              [value_info("Y", 4)] + [value_info(name, 3) for name in outputs],
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="lstm-conformance")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def feeds_for(problem) -> dict[str, np.ndarray]:
    """Graph inputs in ONNX's layout: X [T, B, I], initial_h / initial_c [L·D, B, H]."""
    config = problem.config
    expand = (lambda a: a[:, None, :]) if config.unbatched else (lambda a: a)  # noqa: E731
    x = expand(problem.x)
    if config.batch_first and not config.unbatched:
        x = x.transpose(1, 0, 2)
    feeds = {"X": np.ascontiguousarray(x, dtype=np.float32)}
    for state, value in (("initial_h", problem.h0), ("initial_c", problem.c0)):
        if value is not None:
            feeds[state] = np.ascontiguousarray(expand(value), dtype=np.float32)
    if problem.lengths is not None:
        feeds["sequence_lens"] = np.asarray(problem.lengths, dtype=np.int32)
    return feeds


def canonical_outputs(config, results: list) -> dict[str, np.ndarray]:
    """Y [T, D, B, H] and per-layer Y_h, Y_c [D, B, H] -> canonical y, h_n, c_n."""
    y = y_to_canonical(results[0])
    h_n = np.concatenate(results[1::2], axis=0)
    c_n = np.concatenate(results[2::2], axis=0)
    if config.unbatched:
        y, h_n, c_n = y[:, 0], h_n[:, 0], c_n[:, 0]
    elif config.batch_first:
        y = y.transpose(1, 0, 2)
    return {"y": y, "h_n": h_n, "c_n": c_n}


class OnnxRuntimeAdapter(Adapter):
    name = "onnxruntime"
    description = "ONNX LSTM operator run by onnxruntime (CPU execution provider)"

    def skip_reason(self) -> Optional[str]:
        missing = missing_package()
        return f"{missing} not installed ({INSTALL_HINT})" if missing else None

    def capabilities(self) -> Capabilities:
        return Capabilities(
            dtypes={"float32"}, devices={"cpu"},
            features={"bias", "initial_state", "layers", "bidirectional", "peepholes", "variable_lengths",
                      "batch_first", "unbatched", "cell_clip", "input_forget"},
            activations=None,  # every activation of the spec has an ONNX equivalent
            outputs={"y", "h_n", "c_n"}, reasons=dict(REASONS))

    def prepare(self, problem):
        if problem.batch == 0:
            raise RuntimeError(BATCH_0_ABORT)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4  # a refused input raises with the same message: no log needed
        session = onnxruntime.InferenceSession(build_model(problem).SerializeToString(), options,
                                               providers=["CPUExecutionProvider"])
        feeds = feeds_for(problem)
        config = problem.config

        def run():
            return canonical_outputs(config, session.run(None, feeds))

        return run
