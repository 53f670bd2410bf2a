"""The ONNX route: a Problem as an ONNX model, its feeds, and its outputs back in canonical
layout. A building block for adapters of any ONNX runtime (onnxruntime_lstm.py is one).

An adapter over it is about 20 lines; the runtime only loads the model and runs it:

    from lstm_conformance.adapter import Adapter
    from lstm_conformance.implementations import onnx_model

    class MyRuntimeLSTM(Adapter):
        name = "my-runtime"

        def capabilities(self):
            return onnx_model.capabilities(dtypes={"float32"}, devices={"cpu"})

        def prepare(self, problem):
            model = onnx_model.OnnxLSTM(problem)   # layout = 1 for batch_first
            session = my_runtime.load(model.serialized())
            feeds = model.feeds
            return lambda: model.outputs(session.run(model.output_names, feeds))

What the model exercises (the ONNX LSTM operator, opset 17, LSTM-14): one node per layer with
W, R, B, P from reference.layouts.onnx as initializers; `direction` forward, reverse or
bidirectional;
`activations` with `activation_alpha` / `activation_beta`; `clip`; `input_forget`;
`sequence_lens`, always given (the row lengths, or T for every row when the problem has none);
`initial_h` / `initial_c` when the problem has them; and `layout = 1` for batch_first: X is
fed as (B, T, I) and the node reads it so, with Y [B, T, D, H] and states [B, D, H].

What it emulates around the node, and declares in `OnnxLSTM.emulated`:
* several layers: one node per layer, Y reshaped to the next layer's input in the graph, the
  (L·D, B, H) initial states split per layer by a Split node (ONNX's LSTM is one layer);
* unbatched input: a batch axis of 1 added to x and the states, removed from the outputs;
* the identity activation, written as ONNX's Affine(alpha 1, beta 0), the same function;
* batch_first, only with `layout_attribute=False`: for a runtime that rejects layout = 1
  (onnxruntime: "Batchwise recurrent operations (layout == 1) are not supported"), Transpose
  nodes around a layout = 0 node. The adapter that asks for it says so in its description.
Where it emulates, it checks what the runtime would otherwise never see: the states' rank
(2-D unbatched, 3-D batched) and, with several layers, their leading L·D axis. Everything else
(shapes, lengths, dtypes) is left to the runtime to reject.

onnx is imported only when a model is built; this module imports no runtime at all.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..adapter import Capabilities
from ..reference.layouts.onnx import (ONNX_ACTIVATIONS, TAKES_ALPHA, TAKES_BETA,  # noqa: F401  (re-exported)
                                      activations_to_onnx, config_activations, direction_attribute, to_onnx)

OPSET = 17  # LSTM-14 is the current definition at this opset (LSTM-22 only adds types)
IR_VERSION = 8  # the IR version that goes with opset 17

# The activation names and the flat alpha / beta lists are the ONNX converter's
# (reference/layouts/onnx.py): written in the "consumed" reading of SPEC.md §4.
FEATURES = frozenset({"bias", "initial_state", "layers", "bidirectional", "peepholes", "variable_lengths",
                      "batch_first", "unbatched", "cell_clip", "input_forget", "reverse",
                      "direction_activations"})
REASONS = {
    "projection": "the ONNX LSTM operator has no projection (weight_hr)",
    "forget_bias": "the ONNX LSTM operator has no run-time forget-gate bias",
    "peephole_output_previous": "the ONNX LSTM operator applies the output peephole Po to the new state Ct, "
                                "not to the state entering the step",
    "padding_carry": "the ONNX LSTM operator has no attribute for what Y holds past sequence_lens (a carried "
                     "last output is not among its options)",
    "state_clip": "the ONNX LSTM operator's clip bounds activation inputs, not the carried cell state",
    "proj_clip": "the ONNX LSTM operator has no projection, so no projection clip",
    "layer_norm": "the ONNX LSTM operator has no layer-normalised gates",
}
LAYOUT_FALLBACK = ("batch_first as Transpose nodes around a layout = 0 node (the runtime rejects the "
                   "LSTM attribute layout = 1)")


def capabilities(dtypes=frozenset({"float32"}), devices=frozenset({"cpu"}), reasons: Optional[dict] = None,
                 **more) -> Capabilities:
    """What an adapter over this module can run: every feature the ONNX operator has, every
    activation of the spec, outputs y, h_n, c_n; `reasons` adds or overrides REASONS."""
    return Capabilities(dtypes=set(dtypes), devices=set(devices), features=set(FEATURES), activations=None,
                        outputs={"y", "h_n", "c_n"}, reasons={**REASONS, **(reasons or {})}, **more)


def activation_attributes(config) -> dict:
    """activations, activation_alpha, activation_beta for the node, or {} for the defaults:
    the converter's (reference.layouts.onnx.activations_to_onnx), which writes every
    direction's three activations (six for bidirectional, the forward direction's first) and
    the flat lists consumed in order by the activations that take a value (SPEC.md §4)."""
    if config.standard_activations:
        return {}
    return activations_to_onnx(config_activations(config), reading="consumed")


def check_states(problem) -> None:
    """ValueError for states whose rank (or, with several layers, leading axis) is wrong: where
    the model emulates (unbatched, layers), the runtime would see reshaped or split states and
    might accept them (a runtime that squeezes leading size-1 axes would)."""
    config = problem.config
    rank = 2 if config.unbatched else 3
    lead = config.num_layers * config.num_directions
    for name, value in (("h0", problem.h0), ("c0", problem.c0)):
        if value is None:
            continue
        shape = np.shape(value)
        if len(shape) != rank:
            layout = "(L·D, units) unbatched" if config.unbatched else "(L·D, B, units)"
            raise ValueError(f"{name} must have {rank} dimensions {layout}, got shape {shape}")
        if config.num_layers > 1 and shape[0] != lead:
            raise ValueError(f"{name} must have L·D = {lead} slices on its first axis, got shape {shape}")


class OnnxLSTM:
    """The ONNX model of one problem, its feeds and its output mapping.

    layout_attribute: True (default) runs batch_first through the node's `layout = 1`; False
    is the declared fallback for runtimes that reject it (LAYOUT_FALLBACK)."""

    def __init__(self, problem, layout_attribute: bool = True, dtype=np.float32):
        check_states(problem)
        self.problem, self.config, self.dtype = problem, problem.config, np.dtype(dtype)
        cfg = self.config
        self.batch_first = cfg.batch_first and not cfg.unbatched
        self.layout = 1 if (self.batch_first and layout_attribute) else 0
        self.emulated = []
        if cfg.num_layers > 1:
            self.emulated.append("layers: one LSTM node per layer, chained in the graph")
        if cfg.unbatched:
            self.emulated.append("unbatched: a batch axis of 1 around the node")
        if self.batch_first and not layout_attribute:
            self.emulated.append(LAYOUT_FALLBACK)
        self.feeds = self._feeds()
        self.output_names = ["Y"] + [f"Y_{s}_l{k}" for k in range(cfg.num_layers) for s in ("h", "c")]
        self.model = self._model()

    # ------------------------------------------------------------------ feeds and outputs
    def _feeds(self) -> dict[str, np.ndarray]:
        """X as the problem gives it ((B, T, I) with batch_first; (T, 1, I) unbatched), the
        states (L·D, B, ·) when given, sequence_lens (B,) int32 always."""
        p, cfg = self.problem, self.config
        expand = (lambda a: a[:, None, :]) if cfg.unbatched else (lambda a: a)  # noqa: E731
        feeds = {"X": np.ascontiguousarray(expand(p.x), dtype=self.dtype)}
        for state, value in (("initial_h", p.h0), ("initial_c", p.c0)):
            if value is not None:
                feeds[state] = np.ascontiguousarray(expand(value), dtype=self.dtype)
        lengths = np.full(p.batch, p.seq_len) if p.lengths is None else p.lengths
        feeds["sequence_lens"] = np.asarray(lengths, dtype=np.int32)
        return feeds

    def outputs(self, results) -> dict[str, np.ndarray]:
        """Canonical y, h_n, c_n from the runtime's results (in output_names order, or a
        mapping by name)."""
        if isinstance(results, dict):
            results = [results[name] for name in self.output_names]
        results = [np.asarray(r) for r in results]
        y = results[0]
        if self.layout == 1:  # Y [B, T, D, H], Y_h / Y_c [B, D, H]
            y = y.reshape(y.shape[0], y.shape[1], y.shape[2] * y.shape[3])  # (no -1: T or B may be 0)
            states = [r.transpose(1, 0, 2) for r in results[1:]]
        else:  # Y [T, D, B, H], Y_h / Y_c [D, B, H]
            y = y.transpose(0, 2, 1, 3).reshape(y.shape[0], y.shape[2], y.shape[1] * y.shape[3])
            if self.batch_first:
                y = y.transpose(1, 0, 2)
            states = results[1:]
        h_n, c_n = np.concatenate(states[0::2], axis=0), np.concatenate(states[1::2], axis=0)
        if self.config.unbatched:
            y, h_n, c_n = y[:, 0], h_n[:, 0], c_n[:, 0]
        return {"y": y, "h_n": h_n, "c_n": c_n}

    # ------------------------------------------------------------------ the graph
    def serialized(self) -> bytes:
        return self.model.SerializeToString()

    def _model(self):
        import onnx
        from onnx import helper, numpy_helper

        cfg, layout = self.config, self.layout
        elem = helper.np_dtype_to_tensor_dtype(self.dtype)
        attrs = {"hidden_size": cfg.hidden_size, "direction": direction_attribute(cfg),
                 "layout": layout, **activation_attributes(cfg)}
        if cfg.cell_clip is not None:
            attrs["clip"] = float(cfg.cell_clip)
        if cfg.input_forget:
            attrs["input_forget"] = 1

        def value_info(name, shape):
            kind = onnx.TensorProto.INT32 if name == "sequence_lens" else elem
            return helper.make_tensor_value_info(name, kind, shape)

        graph_inputs = [value_info(name, value.shape) for name, value in self.feeds.items()]
        nodes, initializers = [], [numpy_helper.from_array(np.array([0, 0, -1], np.int64), "merge_directions")]
        layer_input = "X"
        if self.batch_first and layout == 0:  # the declared fallback
            nodes.append(helper.make_node("Transpose", ["X"], ["X_time_major"], perm=[1, 0, 2]))
            layer_input = "X_time_major"
        # The states come whole, (L·D, B, H); with layout = 1 the node takes [B, D, H], so they
        # are transposed in the graph, and split per layer (Split checks the sizes) when L > 1.
        state_axis = 1 if layout == 1 else 0
        states = {}
        for state in ("initial_h", "initial_c"):
            if state not in self.feeds:
                continue
            name = state
            if layout == 1:
                nodes.append(helper.make_node("Transpose", [name], [f"{state}_batch_major"], perm=[1, 0, 2]))
                name = f"{state}_batch_major"
            if cfg.num_layers > 1:
                sizes = np.full(cfg.num_layers, cfg.num_directions, dtype=np.int64)
                initializers.append(numpy_helper.from_array(sizes, f"{state}_sizes"))
                per_layer = [f"{state}_l{k}" for k in range(cfg.num_layers)]
                nodes.append(helper.make_node("Split", [name, f"{state}_sizes"], per_layer, axis=state_axis))
                states[state] = per_layer
            else:
                states[state] = [name]

        for layer in range(cfg.num_layers):
            tensors = to_onnx(self.problem.params, layer)
            names = {"sequence_lens": "sequence_lens"}
            for key in ("W", "R", "B", "P"):
                if key in tensors:
                    names[key] = f"{key}_l{layer}"
                    initializers.append(numpy_helper.from_array(tensors[key].astype(self.dtype), names[key]))
            for state, per_layer in states.items():
                names[state] = per_layer[layer]
            order = ["W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
            node_inputs = [layer_input] + [names.get(key, "") for key in order]
            while node_inputs[-1] == "":  # trailing optional inputs are left out
                node_inputs.pop()
            last = layer == cfg.num_layers - 1
            y_name = "Y" if last else f"Y_l{layer}"
            nodes.append(helper.make_node("LSTM", node_inputs, [y_name, f"Y_h_l{layer}", f"Y_c_l{layer}"],
                                          name=f"lstm_l{layer}", **attrs))
            if not last:  # Y [T, D, B, H] -> [T, B, D·H] (layout 1: [B, T, D, H] -> [B, T, D·H])
                merged = y_name
                if layout == 0:
                    nodes.append(helper.make_node("Transpose", [y_name], [f"Y_tbdh_l{layer}"], perm=[0, 2, 1, 3]))
                    merged = f"Y_tbdh_l{layer}"
                nodes.append(helper.make_node("Reshape", [merged, "merge_directions"], [f"X_l{layer + 1}"]))
                layer_input = f"X_l{layer + 1}"
        graph_outputs = [value_info("Y", [None] * 4)] + [value_info(n, [None] * 3) for n in self.output_names[1:]]
        graph = helper.make_graph(nodes, "lstm_conformance", graph_inputs, graph_outputs, initializer=initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="lstm-conformance")
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model)
        return model

    def node_attributes(self, layer: int = 0) -> dict:
        """The attributes of layer `layer`'s LSTM node, by name (for tests and reports)."""
        from onnx import helper

        node = next(n for n in self.model.graph.node if n.op_type == "LSTM" and n.name == f"lstm_l{layer}")
        return {a.name: helper.get_attribute_value(a) for a in node.attribute}
