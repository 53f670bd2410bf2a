"""`mlx`: Apple MLX's mlx.nn.LSTM on the CPU (the Linux `mlx[cpu]` build).

mlx.nn.LSTM is one layer, one direction, batch first: x (B, T, I) or unbatched (T, I), and it
returns every step's hidden and cell states. Its parameters come from the canonical layout by
reference.layouts.mlx (Wx, Wh, one summed bias, blocks i, f, g, o). Time-major input is
transposed to (B, T, I) around the call (MLX has no time-major option). An absent h0 or c0 is
passed as None, MLX's own zero state. Gradients by mlx.core.vjp. mlx is an optional extra,
imported only when a problem is prepared.
"""
from __future__ import annotations

import importlib.util
from typing import Optional

import numpy as np

from ..adapter import Adapter, Capabilities
from ..reference.layouts.cells import cell_params
from ..reference.layouts.mlx import to_mlx
from .canonical_inputs import check_problem, states_or_zeros

INSTALL_HINT = "pip install lstm-conformance[mlx]"
REASONS = {
    "activations": "mlx.nn.LSTM has fixed activations (sigmoid gates, tanh cell input and output)",
    "layers": "mlx.nn.LSTM is one layer (MLX has no stacked LSTM)",
    "bidirectional": "mlx.nn.LSTM runs one direction (MLX has no bidirectional LSTM)",
    "reverse": "mlx.nn.LSTM always runs forward in time",
    "variable_lengths": "mlx.nn.LSTM has no sequence lengths or masking",
    "padding_carry": "mlx.nn.LSTM has no sequence lengths, so no padding",
    "projection": "mlx.nn.LSTM has no projection",
    "peepholes": "mlx.nn.LSTM has no peephole connections",
    "peephole_output_previous": "mlx.nn.LSTM has no peephole connections",
    "cell_clip": "mlx.nn.LSTM has no cell clip",
    "state_clip": "mlx.nn.LSTM has no clip of the cell state",
    "proj_clip": "mlx.nn.LSTM has no projection, so no projection clip",
    "input_forget": "mlx.nn.LSTM has no coupled input-forget gate",
    "forget_bias": "mlx.nn.LSTM has no forget-gate bias constant",
    "direction_activations": "mlx.nn.LSTM has fixed activations",
    "layer_norm": "mlx.nn.LSTM has no layer-normalised gates",
}


def mlx_dtype(name: str):
    import mlx.core as mx

    return {"float16": mx.float16, "bfloat16": mx.bfloat16, "float32": mx.float32, "float64": mx.float64}[name]


def to_mx(array, dtype):
    """An MLX array of `dtype` (the values are exact in it: the problem rounded them)."""
    import mlx.core as mx

    return mx.array(np.ascontiguousarray(array, dtype=np.float64 if dtype == mx.float64 else np.float32)).astype(dtype)


def as_numpy(value) -> np.ndarray:
    """An MLX array (or an Output) as NumPy (bfloat16 through float32, which holds its values exactly)."""
    import mlx.core as mx

    value = getattr(value, "array", value)
    if value.dtype == mx.bfloat16:
        value = value.astype(mx.float32)
    return np.array(value)


class Output:
    """An MLX result and its dtype as the records name dtypes ("bfloat16", not
    "mlx.core.bfloat16"), so that the dtypes check sees what MLX returned."""

    def __init__(self, array):
        self.array = array
        self.dtype = str(array.dtype).rsplit(".", 1)[-1]


class MlxLSTMAdapter(Adapter):
    name = "mlx"
    description = "mlx.nn.LSTM (batch first; time-major input transposed around it), CPU"

    def skip_reason(self) -> Optional[str]:
        if importlib.util.find_spec("mlx") is None:
            return f"mlx not installed ({INSTALL_HINT})"
        return None

    def capabilities(self) -> Capabilities:
        return Capabilities(dtypes={"float16", "bfloat16", "float32", "float64"}, devices={"cpu"},
                            features={"bias", "initial_state", "batch_first", "unbatched"},
                            outputs={"y", "h_n", "c_n", "c"}, gradients=True, reasons=dict(REASONS))

    def _build(self, problem):
        """The module with the problem's parameters, and forward(parameters, x, h0, c0) in
        canonical layout (x canonical; h0, c0 (1, B, ·) or None)."""
        import mlx.core as mx
        import mlx.nn as nn

        # what would be lost in the mapping: a parameter other than the configuration's, a
        # state not (1, B, ·) (or (1, ·) unbatched), x of the wrong shape
        check_problem(problem)
        cfg, dtype = problem.config, mlx_dtype(problem.dtype)
        module = nn.LSTM(cfg.input_size, cfg.hidden_size, bias=cfg.bias)
        time_major = not cfg.batch_first and not cfg.unbatched

        def forward(parameters, x, h0, c0):
            module.update(parameters)
            # squeeze, not h0[0]: MLX 0.32.4's gradient of an integer index into an array with a
            # zero-size axis kills the process (SIGFPE), which would hide the LSTM's own answer
            hidden, cell = module(mx.swapaxes(x, 0, 1) if time_major else x,
                                  hidden=None if h0 is None else mx.squeeze(h0, 0),
                                  cell=None if c0 is None else mx.squeeze(c0, 0))
            # every step's states, (B, T, ·) or (T, ·); the last step is the final state
            h_n, c_n = hidden[..., -1, :][None], cell[..., -1, :][None]
            if time_major:
                hidden, cell = mx.swapaxes(hidden, 0, 1), mx.swapaxes(cell, 0, 1)
            return {"y": hidden, "c": cell, "h_n": h_n, "c_n": c_n}

        parameters = {k: to_mx(v, dtype) for k, v in to_mlx(cell_params(problem.params)).items()}
        return forward, parameters, dtype

    def prepare(self, problem):
        import mlx.core as mx

        forward, parameters, dtype = self._build(problem)
        x = to_mx(problem.x, dtype)
        h0, c0 = (None if v is None else to_mx(v, dtype) for v in (problem.h0, problem.c0))

        def run():
            outputs = forward(parameters, x, h0, c0)
            mx.eval(outputs)  # MLX is lazy: compute now, inside the timed call
            return {key: Output(value) for key, value in outputs.items()}

        return run

    def to_numpy(self, result):
        return {key: as_numpy(value) for key, value in result.items()}

    def gradients(self, problem, upstream):
        """mlx.core.vjp through the module (explicit zero states when the problem has none)."""
        import mlx.core as mx

        forward, parameters, dtype = self._build(problem)
        names = sorted(parameters)
        h0, c0 = (to_mx(state, dtype) for state in states_or_zeros(problem))
        keys = ("y", "h_n", "c_n")

        def function(*arrays):
            outputs = forward(dict(zip(names, arrays[3:])), *arrays[:3])
            return [outputs[k] for k in keys]

        primals = [to_mx(problem.x, dtype), h0, c0] + [parameters[n] for n in names]
        outputs = function(*primals)
        cotangents = [mx.zeros_like(o) if upstream.get(k) is None else to_mx(upstream[k], dtype)
                      for k, o in zip(keys, outputs)]
        _, grads = mx.vjp(function, primals, cotangents)
        result = {"x": grads[0], "h0": grads[1], "c0": grads[2]}
        by_name = dict(zip(names, grads[3:]))
        result["weight_ih_l0"], result["weight_hh_l0"] = by_name["Wx"], by_name["Wh"]
        if "bias" in by_name:
            result["bias_ih_l0"] = result["bias_hh_l0"] = by_name["bias"]
        return {key: as_numpy(value) for key, value in result.items()}
