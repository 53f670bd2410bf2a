"""`haiku`: dm-haiku's hk.LSTM unrolled over time by hk.dynamic_unroll, jit-compiled, on the CPU.

The library's own features are used where it has them: hk.DeepRNN stacks layers,
dynamic_unroll's `time_major=False` reads batch_first input, its `reverse=True` runs one
reverse direction, and hk.LSTM takes unbatched (rank-1) steps. The parameters come from the
canonical layout by reference.layouts.haiku: blocks i, g, f, o, x and h weights stacked as
one (I + H, 4H) hk.Linear, one bias, and Haiku's fixed + 1 on the forget gate's
pre-activation (a convention, mapped: the forget block's bias carries forget_bias − 1, so
problems with any forget_bias and without bias run). Gradients by jax.vjp. dm-haiku and jax
are an optional extra, imported only when a problem is prepared.
"""
from __future__ import annotations

from typing import Optional

from ..adapter import Capabilities
from ..reference.layouts.cells import cell_params
from ..reference.layouts.haiku import from_haiku, to_haiku
from . import jax_common

INSTALL_HINT = "pip install lstm-conformance[haiku]"
REASONS = {
    "activations": "hk.LSTM has fixed activations (sigmoid gates, tanh cell input and output)",
    "bidirectional": "Haiku has no bidirectional wrapper (hk.dynamic_unroll runs one direction)",
    "variable_lengths": "hk.dynamic_unroll has no sequence lengths or masking",
    "padding_carry": "hk.dynamic_unroll has no sequence lengths, so no padding",
    "projection": "hk.LSTM has no projection",
    "peepholes": "hk.LSTM has no peephole connections",
    "peephole_output_previous": "hk.LSTM has no peephole connections",
    "cell_clip": "hk.LSTM has no cell clip",
    "state_clip": "hk.LSTM has no clip of the cell state",
    "proj_clip": "hk.LSTM has no projection, so no projection clip",
    "input_forget": "hk.LSTM has no coupled input-forget gate",
    "direction_activations": "hk.LSTM has fixed activations",
    "layer_norm": "hk.LSTM has no layer-normalised gates",
}


def module_name(layer: int) -> str:
    return f"lstm_l{layer}"


def haiku_params(problem, dtype) -> dict:
    """{"lstm_l{k}/linear": {"w", "b"}} as JAX arrays of `dtype`, one entry per layer."""
    import jax.numpy as jnp

    forget_bias = problem.config.forget_bias
    return {f"{module_name(k)}/linear": {key: jnp.asarray(value, dtype=dtype) for key, value in
                                         to_haiku(cell_params(problem.params, k), forget_bias).items()}
            for k in range(problem.config.num_layers)}


def build_forward(problem):
    """forward(params, x, h0, c0) -> {"y", "h_n", "c_n"} in canonical layout (x, h0, c0 canonical)."""
    import haiku as hk
    import jax.numpy as jnp

    cfg = problem.config
    layers = cfg.num_layers
    batch_first = cfg.batch_first and not cfg.unbatched

    def unroll(x, h0, c0):
        cores = [hk.LSTM(cfg.hidden_size, name=module_name(k)) for k in range(layers)]
        states = [hk.LSTMState(hidden=h0[k], cell=c0[k]) for k in range(layers)]
        core, initial = (cores[0], states[0]) if layers == 1 else (hk.DeepRNN(cores), tuple(states))
        return hk.dynamic_unroll(core, x, initial, time_major=not batch_first, reverse=cfg.direction == "reverse")

    transformed = hk.without_apply_rng(hk.transform(unroll))

    def forward(params, x, h0, c0):
        y, final = transformed.apply(params, x, h0, c0)
        final = [final] if layers == 1 else list(final)
        return {"y": y, "h_n": jnp.stack([s.hidden for s in final]), "c_n": jnp.stack([s.cell for s in final])}

    return forward


class HaikuLSTMAdapter(jax_common.JaxAdapter):
    name = "haiku"
    description = ("hk.LSTM unrolled with hk.dynamic_unroll (hk.DeepRNN for layers), jit, CPU; "
                   "Haiku's + 1 forget offset mapped into the bias")

    def skip_reason(self) -> Optional[str]:
        package = jax_common.missing("jax", "haiku")
        return f"{'dm-haiku' if package == 'haiku' else package} not installed ({INSTALL_HINT})" if package else None

    def capabilities(self) -> Capabilities:
        return Capabilities(dtypes=jax_common.DTYPES, devices={"cpu"},
                            features={"bias", "initial_state", "layers", "batch_first", "unbatched", "reverse",
                                      "forget_bias"},
                            outputs={"y", "h_n", "c_n"}, gradients=True, reasons=dict(REASONS))

    def parameter_tree(self, problem, dtype):
        return haiku_params(problem, dtype)

    def build_forward(self, problem, dtype):
        return build_forward(problem)

    def gradients(self, problem, upstream):
        """jax.vjp through dynamic_unroll; each layer's (w, b) gradient back to canonical names
        (the one bias's gradient is both canonical biases')."""
        with jax_common.x64():
            functions, arguments, _ = self._arguments(problem)
            g_params, g_x, g_h0, g_c0 = jax_common.vjp_gradients(functions, arguments, upstream)
        grads = {"x": g_x, "h0": g_h0, "c0": g_c0}
        cfg = problem.config
        for k in range(cfg.num_layers):
            linear = {key: jax_common.as_numpy(value).astype("float64")
                      for key, value in g_params[f"{module_name(k)}/linear"].items()}
            input_size = cfg.input_size if k == 0 else cfg.hidden_size
            cell = from_haiku(linear, input_size, forget_bias=1.0)  # a gradient: no offset to undo
            grads[f"weight_ih_l{k}"], grads[f"weight_hh_l{k}"] = cell["weight_ih"], cell["weight_hh"]
            if cfg.bias:
                grads[f"bias_ih_l{k}"] = grads[f"bias_hh_l{k}"] = cell["bias_ih"]
        return {key: jax_common.as_numpy(value) for key, value in grads.items()}
