"""`paddle`: PaddlePaddle's `paddle.nn.LSTM` on the CPU (dynamic graph).

Facts (paddle/nn/layer/rnn.py, `LSTMCell.forward` and `RNNBase`, PaddlePaddle 3.x): per cell
`weight_ih` (4H, I), `weight_hh` (4H, S), `bias_ih`, `bias_hh` (4H), gates split in the order
i, f, g (its "c"), o, both biases added: the canonical layout. With `proj_size` P the cell has
`weight_ho` (H, P) and computes h = (o·tanh(c)) @ weight_ho, so weight_ho = weight_hrᵀ.
`direction="bidirect"` is the spec's bidirectional; `time_major=True` is the canonical
time-major layout and `time_major=False` is batch_first. `sequence_length` gives one length
per row. The layer-level flat names (`weight_ih_l0_reverse`, ...) are assigned by position
assuming four parameters per cell, so with a projection they name the wrong tensors: the
adapter sets each cell's own parameters (`layer[k].cell` / `cell_fw` / `cell_bw`).

Paddle runs an LSTM without projection and with both biases through its fused `rnn` kernel
(RNNBase._cudnn_impl, which has a CPU kernel); with a projection or without biases it runs
the Python loop over LSTMCell (RNNBase.forward). paddle is an optional extra, imported only
in prepare.
"""
from __future__ import annotations

import importlib.util
import sys
from typing import Optional

import numpy as np

from ..adapter import AbnormalExit, Adapter, Capabilities
from ..reference.layouts import cell_params
from ..spec.model import state_shapes
from .canonical_inputs import check_parameters

INSTALL_HINT = "pip install lstm-conformance[paddle]"

REASONS = {
    "dtype": "paddle.nn.LSTM on the CPU runs float32 and float64: float16 and bfloat16 have no CPU kernels "
             "(its coalesce_tensor and LSTMCell ops refuse them; PaddlePaddle 3.3.1, measured)",
    "activations": "paddle.nn.LSTM has fixed activations (sigmoid gates, tanh cell input and output)",
    "peepholes": "paddle.nn.LSTM has no peephole connections",
    "cell_clip": "paddle.nn.LSTM has no clip",
    "input_forget": "paddle.nn.LSTM has no coupled input-forget gate",
    "forget_bias": "paddle.nn.LSTM has no run-time forget-gate bias",
    "reverse": "paddle.nn.LSTM's direction is 'forward' or 'bidirect' (no single reverse direction)",
    "direction_activations": "paddle.nn.LSTM has fixed activations, the same in both directions",
    "peephole_output_previous": "paddle.nn.LSTM has no peephole connections",
    "unbatched": "paddle.nn.LSTM takes a 3-D input only",
    "padding_carry": "paddle.nn.LSTM has no carried output past a sequence's length",
    "state_clip": "paddle.nn.LSTM has no clip of the cell state",
    "proj_clip": "paddle.nn.LSTM has no clip of the projected output",
    "layer_norm": "paddle.nn.LSTM has no layer-normalised gates",
}


def missing_package() -> Optional[str]:
    return None if importlib.util.find_spec("paddle") is not None else "paddlepaddle"


def cells(module, cfg):
    """(layer, direction) -> the LSTMCell of paddle.nn.LSTM holding those parameters."""
    out = {}
    for layer in range(cfg.num_layers):
        rnn = module[layer]
        if cfg.bidirectional:
            out[(layer, 0)], out[(layer, 1)] = rnn.cell_fw, rnn.cell_bw
        else:
            out[(layer, 0)] = rnn.cell
    return out


def build_module(problem, dtype: str):
    import paddle

    cfg = problem.config
    no_bias = {} if cfg.bias else {"bias_ih_attr": False, "bias_hh_attr": False}
    default = paddle.get_default_dtype()
    paddle.set_default_dtype(dtype)  # parameters created in the tested dtype (module.to() breaks the fused kernel's weights)
    try:
        module = paddle.nn.LSTM(cfg.input_size, cfg.hidden_size, num_layers=cfg.num_layers,
                                direction="bidirect" if cfg.bidirectional else "forward",
                                time_major=not cfg.batch_first, proj_size=cfg.proj_size, **no_bias)
    finally:
        paddle.set_default_dtype(default)
    module.eval()
    for (layer, direction), cell in cells(module, cfg).items():
        canonical = cell_params(problem.params, layer, direction)
        values = {"weight_ih": canonical["weight_ih"], "weight_hh": canonical["weight_hh"]}
        if cfg.bias:
            values.update(bias_ih=canonical["bias_ih"], bias_hh=canonical["bias_hh"])
        if cfg.proj_size:
            values["weight_ho"] = canonical["weight_hr"].T
        for name, value in values.items():
            getattr(cell, name).set_value(np.ascontiguousarray(value, dtype=dtype))
    return module


# PaddlePaddle 3.3.1 crashes the process (SIGSEGV in paddle.base.core) when it is imported after
# TensorFlow; imported first, both work. In a process that already has TensorFlow the adapter
# is skipped with this reason (lstm-conformance survey and --isolate run each adapter alone).
AFTER_TENSORFLOW = ("paddle cannot be imported in a process that has already imported tensorflow (paddle 3.3.1 "
                    "crashes with SIGSEGV); run it in a process of its own (--isolate, or lstm-conformance survey)")


class WouldCrash(RuntimeError, AbnormalExit):
    """Not run because paddle would kill the process: an error of the run, never a rejection."""


# Found with this suite (PaddlePaddle 3.3.1, CPU): paddle.nn.LSTM built with bias_ih_attr=False and
# bias_hh_attr=False crashes the process (SIGSEGV in the fused rnn kernel, phi::RnnKernel ->
# DenseTensor::ShareDataWith) on its first call, or fails with a garbage dimension. The layer
# still counts four parameters per cell (the biases become frozen zeros), so it takes the
# fused kernel, but its flat weight list (flatten_parameters) holds only the two weights. The
# adapter refuses to call it so that the run survives; tests/survey/test_paddle_findings.py
# checks that the crash still happens.
NO_BIAS_CRASH = ("not run: paddle.nn.LSTM with bias_ih_attr=False and bias_hh_attr=False crashes the process "
                 "(SIGSEGV in the fused rnn kernel: its flat weight list lacks the biases)")
# Also found: an input with T = 0 crashes the process (SIGFPE, 'Erroneous arithmetic operation', in
# the forward fused kernel; SIGSEGV with sequence_length) instead of raising or returning the
# empty answer of SPEC.md §9.
SEQ_LEN_0_CRASH = ("not run: paddle.nn.LSTM crashes the process on an input with T = 0 (SIGFPE in the fused rnn "
                   "kernel; SIGSEGV with sequence_length)")

# And: paddle does not check sequence_length against T nor its sign: a length above T crashes the
# process (SIGSEGV, reading past x), a negative one corrupts the heap ('free(): invalid pointer',
# SIGABRT) or returns outputs.
LENGTH_OUT_OF_RANGE_CRASH = ("not run: paddle.nn.LSTM crashes the process on a sequence_length above T (SIGSEGV) or "
                             "below 0 (heap corruption, SIGABRT): it does not check sequence_length")


class PaddleLSTMAdapter(Adapter):
    name = "paddle"
    description = ("paddle.nn.LSTM (PaddlePaddle, CPU, dynamic graph): its fused rnn kernel without projection, "
                   "the LSTMCell loop with a projection or without biases")

    def skip_reason(self) -> Optional[str]:
        missing = missing_package()
        if missing:
            return f"{missing} not installed ({INSTALL_HINT})"
        if "tensorflow" in sys.modules and "paddle" not in sys.modules:
            return AFTER_TENSORFLOW
        return None

    def capabilities(self) -> Capabilities:
        return Capabilities(dtypes={"float32", "float64"}, devices={"cpu"},
                            features={"bias", "initial_state", "layers", "bidirectional", "projection",
                                      "variable_lengths", "batch_first"},
                            gradients=True, reasons=dict(REASONS))

    @staticmethod
    def _refuse_what_would_crash(problem):
        import paddle

        paddle.set_device("cpu")
        check_parameters(problem)
        if not problem.config.bias:
            raise WouldCrash(NO_BIAS_CRASH)
        if problem.seq_len == 0:
            raise WouldCrash(SEQ_LEN_0_CRASH)
        lengths = problem.lengths
        if lengths is not None and (np.any(np.asarray(lengths) > problem.seq_len) or np.any(np.asarray(lengths) < 0)):
            raise WouldCrash(LENGTH_OUT_OF_RANGE_CRASH)

    def prepare(self, problem):
        import paddle

        self._refuse_what_would_crash(problem)
        dtype = problem.dtype
        module = build_module(problem, dtype)
        tensor = lambda a: paddle.to_tensor(np.ascontiguousarray(a, dtype=dtype))  # noqa: E731
        x = tensor(problem.x)
        states = None
        if problem.h0 is not None or problem.c0 is not None:
            # paddle takes both states or neither: a missing one is zeros (SPEC.md §6)
            h0 = problem.h0 if problem.h0 is not None else np.zeros(problem.c0.shape[:-1] + (problem.config.output_size,))
            c0 = problem.c0 if problem.c0 is not None else np.zeros(problem.h0.shape[:-1] + (problem.config.hidden_size,))
            states = (tensor(h0), tensor(c0))
        lengths = None if problem.lengths is None else paddle.to_tensor(np.asarray(problem.lengths, dtype=np.int64))

        def run():
            with paddle.no_grad():
                y, (h_n, c_n) = module(x, states, lengths)
            return {"y": y.numpy(), "h_n": h_n.numpy(), "c_n": c_n.numpy()}

        return run

    def gradients(self, problem, upstream):
        """paddle.grad through paddle.nn.LSTM (the rnn kernel's own backward, or autograd through
        the LSTMCell loop), each cell's parameter gradients under their canonical names."""
        import paddle

        self._refuse_what_would_crash(problem)
        cfg, dtype = problem.config, problem.dtype
        module = build_module(problem, dtype)
        module.train()  # the rnn kernel keeps what its backward needs only in training mode (dropout is 0)
        shapes = state_shapes(cfg, problem.batch)
        tensor = lambda a: paddle.to_tensor(np.ascontiguousarray(a, dtype=dtype), stop_gradient=False)  # noqa: E731
        x = tensor(problem.x)
        h0 = tensor(problem.h0 if problem.h0 is not None else np.zeros(shapes["h0"]))
        c0 = tensor(problem.c0 if problem.c0 is not None else np.zeros(shapes["c0"]))
        lengths = None if problem.lengths is None else paddle.to_tensor(np.asarray(problem.lengths, dtype=np.int64))
        y, (h_n, c_n) = module(x, (h0, c0), lengths)
        outputs = {"y": y, "h_n": h_n, "c_n": c_n}
        loss = paddle.add_n([(outputs[k] * paddle.to_tensor(v.astype(dtype))).sum() for k, v in upstream.items()
                             if v is not None])
        named = {}
        for (layer, direction), cell in cells(module, cfg).items():
            suffix = f"_l{layer}{'_reverse' if direction else ''}"
            names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] + (["weight_ho"] if cfg.proj_size else [])
            named.update({name + suffix: getattr(cell, name) for name in names})
        leaves = [x, h0, c0, *named.values()]
        grads = paddle.grad(loss, leaves, allow_unused=True)
        out = {}
        for name, leaf, grad in zip(["x", "h0", "c0", *named], leaves, grads):
            value = np.zeros(leaf.shape) if grad is None else grad.numpy().astype(np.float64)
            if name.startswith("weight_ho"):
                name, value = name.replace("weight_ho", "weight_hr"), value.T  # weight_ho = weight_hrᵀ
            out[name] = value
        return out
