"""`tf-block-lstm`: TensorFlow's fused CPU LSTM kernel, `tf.raw_ops.BlockLSTMV2` (one layer,
one direction, the whole sequence in one op; tensorflow/core/kernels/rnn/lstm_ops.cc).

The op's documented equations (LSTMBlockCell, run in a loop over time):
    xh = [x, h_prev];  [i, f, ci, o] = xh @ w + b  (BlockLSTMV2: gate layout IFCO)
    i = σ(cs_prev·wci + i);  f = σ(cs_prev·wcf + f);  ci = tanh(ci)
    cs = ci·i + cs_prev·f;  cs = clip(cs, cell_clip)  (only when cell_clip > 0)
    o = σ(cs·wco + o);  co = tanh(cs);  h = co·o
So the op's `cell_clip` clips the carried state itself: the spec's `state_clip` (SPEC.md §2),
not its `cell_clip` (ONNX's bound on activation inputs). BlockLSTMV2 has no forget_bias; its
predecessor `tf.raw_ops.BlockLSTM` (gate layout ICFO) adds a `forget_bias` attribute to the
forget gate's pre-activation, the spec's `forget_bias`, so problems with a forget_bias run
through BlockLSTM (the same kernel, lstm_ops.cc, with the other gate layout).

The op returns the per-step h and cs only; h_n and c_n are their last steps (for T = 0, the
op's loop runs no step and the initial state is the final one). Its `seq_len_max` is one
length for the whole batch, so per-row lengths are not expressible. TensorFlow is an
optional extra and is imported only in prepare.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Optional

import numpy as np

from ..adapter import Adapter, Capabilities
from ..reference.layouts import cell_params, to_tf_block
from ..reference.layouts.tf_block import GATE_LAYOUTS
from .canonical_inputs import check_parameters, states_or_zeros

INSTALL_HINT = "pip install lstm-conformance[tensorflow]"

REASONS = {
    "dtype": "BlockLSTMV2 is registered for half and float only (its op definition: 'T' in {half, float}); "
             "float64 and bfloat16 are refused by the op",
    "activations": "BlockLSTMV2 has fixed activations (sigmoid gates, tanh cell input and output)",
    "layers": "BlockLSTMV2 is one layer (a stack is several ops)",
    "bidirectional": "BlockLSTMV2 runs one direction (a bidirectional layer is two ops and a reverse_sequence)",
    "reverse": "BlockLSTMV2 runs forward in time only",
    "direction_activations": "BlockLSTMV2 runs one direction with fixed activations",
    "projection": "BlockLSTMV2 has no projection",
    "variable_lengths": "BlockLSTMV2's seq_len_max is one length for the whole batch, not one per row",
    "batch_first": "BlockLSTMV2 takes time-major x (timelen, batch_size, num_inputs) only",
    "unbatched": "BlockLSTMV2 takes a 3-D x (timelen, batch_size, num_inputs) only",
    "cell_clip": "BlockLSTMV2's cell_clip clips the cell state itself (the spec's state_clip), "
                 "not the activation inputs (ONNX clip)",
    "input_forget": "BlockLSTMV2 has no coupled input-forget gate",
    "peephole_output_previous": "BlockLSTMV2's output-gate peephole sees the new cell state (cs), not the previous one",
    "padding_carry": "BlockLSTMV2 has no per-row lengths",
    "proj_clip": "BlockLSTMV2 has no projection",
    "layer_norm": "BlockLSTMV2 has no layer-normalised gates",
}


def missing_package() -> Optional[str]:
    return None if importlib.util.find_spec("tensorflow") is not None else "tensorflow"


class TfBlockLSTMAdapter(Adapter):
    name = "tf-block-lstm"
    description = ("tf.raw_ops.BlockLSTMV2, TensorFlow's fused CPU LSTM kernel (one layer, one direction; "
                   "its cell_clip is the spec's state_clip; forget_bias through tf.raw_ops.BlockLSTM)")

    def skip_reason(self) -> Optional[str]:
        missing = missing_package()
        return f"{missing} not installed ({INSTALL_HINT})" if missing else None

    def capabilities(self) -> Capabilities:
        return Capabilities(dtypes={"float16", "float32"}, devices={"cpu"},
                            features={"bias", "initial_state", "peepholes", "state_clip", "forget_bias"},
                            outputs={"y", "h_n", "c_n", "c"}, gradients=True, reasons=dict(REASONS))

    def _op(self, problem):
        """(the op as a function of its tensor inputs, the inputs, the gate layout) for problem."""
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's per-call kernel notes would flood the run
        import tensorflow as tf

        check_parameters(problem)
        cfg = problem.config
        dtype = {"float16": tf.float16, "float32": tf.float32}[problem.dtype]
        layout = "icfo" if cfg.forget_bias != 0 else "ifco"  # only BlockLSTM has a forget_bias attribute
        weights = to_tf_block(cell_params(problem.params), layout)
        hidden = cfg.hidden_size
        zeros_h = np.zeros(hidden)
        h0, c0 = states_or_zeros(problem)
        const = lambda a: tf.constant(np.asarray(a), dtype)  # noqa: E731
        inputs = dict(x=const(problem.x), cs_prev=const(c0[0]), h_prev=const(h0[0]), w=const(weights["w"]),
                      wci=const(weights.get("wci", zeros_h)), wcf=const(weights.get("wcf", zeros_h)),
                      wco=const(weights.get("wco", zeros_h)), b=const(weights.get("b", np.zeros(4 * hidden))))
        attributes = dict(seq_len_max=tf.constant(problem.seq_len, tf.int64), cell_clip=float(cfg.state_clip or 0.0),
                          use_peephole=cfg.peepholes)
        if layout == "icfo":
            op = lambda t: tf.raw_ops.BlockLSTM(forget_bias=float(cfg.forget_bias), **attributes, **t)  # noqa: E731
        else:
            op = lambda t: tf.raw_ops.BlockLSTMV2(**attributes, **t)  # noqa: E731
        return op, inputs, layout

    def prepare(self, problem):
        op, inputs, _ = self._op(problem)

        def run():
            out = op(inputs)
            y, c = out.h.numpy(), out.cs.numpy()
            if problem.seq_len == 0:  # no step: the initial state is the final one
                return {"y": y, "c": c, "h_n": inputs["h_prev"].numpy()[None], "c_n": inputs["cs_prev"].numpy()[None]}
            return {"y": y, "c": c, "h_n": y[-1:], "c_n": c[-1:]}

        return run

    def gradients(self, problem, upstream):
        """tf.GradientTape through the op (its registered gradient runs BlockLSTMGradV2, or
        BlockLSTMGrad for the forget_bias path), mapped back to the canonical names."""
        import tensorflow as tf

        op, inputs, layout = self._op(problem)
        if problem.seq_len == 0:
            raise ValueError(f"{problem.case_id}: no gradients of a sequence of length 0")
        with tf.GradientTape() as tape:
            tape.watch(list(inputs.values()))
            out = op(inputs)
            terms = {"y": out.h, "h_n": out.h[-1][None], "c_n": out.cs[-1][None]}
            loss = tf.add_n([tf.reduce_sum(tf.cast(terms[k], tf.float64) * v) for k, v in upstream.items()
                             if v is not None])
        grads = dict(zip(inputs, (g.numpy().astype(np.float64) for g in tape.gradient(loss, list(inputs.values())))))
        return canonical_gradients(problem, grads, layout)


def canonical_gradients(problem, grads: dict, layout: str) -> dict:
    """The op's gradients (x, cs_prev, h_prev, w, b, wci, wcf, wco) under canonical names: w's
    rows split into weight_ih and weight_hh, gate blocks back in i, f, g, o order; the one
    bias b reaches the gates as b_ih + b_hh, so both get its gradient."""
    cfg = problem.config
    order = GATE_LAYOUTS[layout]

    def canonical_blocks(array):  # the op's gate blocks along axis 0 -> canonical order
        blocks = dict(zip(order, np.split(array, 4, axis=0)))
        return np.concatenate([blocks[g] for g in ("i", "f", "g", "o")], axis=0)

    w = grads["w"]
    out = {"x": grads["x"], "h0": grads["h_prev"][None], "c0": grads["cs_prev"][None],
           "weight_ih_l0": canonical_blocks(w[:cfg.input_size].T), "weight_hh_l0": canonical_blocks(w[cfg.input_size:].T)}
    if cfg.bias:
        out["bias_ih_l0"] = out["bias_hh_l0"] = canonical_blocks(grads["b"])
    if cfg.peepholes:
        out["peephole_l0"] = np.stack([grads["wci"], grads["wcf"], grads["wco"]])
    return out
