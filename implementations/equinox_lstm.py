"""`equinox`: eqx.nn.LSTMCell (one step, unbatched) scanned over time with jax.lax.scan, with
jax.vmap over the batch, as Equinox's documentation shows; jit-compiled, on the CPU.

The cell's fields come from the canonical parameters by reference.layouts.equinox (the same
i, f, g, o blocks, one summed bias). One cell is one layer and one direction, so layers,
bidirectional and reverse are declared unsupported, as for torch-cell: stacking cells or
running the scan backwards would be this adapter's emulation, not the library's. Gradients
are JAX's own (jax.vjp through the scan). equinox and jax are an optional extra, imported
only when a problem is prepared.
"""
from __future__ import annotations

from typing import Optional

from ..adapter import Capabilities
from ..reference.layouts.cells import cell_params
from ..reference.layouts.equinox import to_equinox
from . import jax_common

INSTALL_HINT = "pip install lstm-conformance[equinox]"
ONE_CELL = ("eqx.nn.LSTMCell computes one step of one cell; {what} would be this adapter's emulation "
            "around it, not the library's")
REASONS = {
    "activations": "eqx.nn.LSTMCell has fixed activations (sigmoid gates, tanh cell input and output)",
    "layers": ONE_CELL.format(what="stacking layers"),
    "bidirectional": ONE_CELL.format(what="a second, reversed direction"),
    "reverse": ONE_CELL.format(what="running the steps backwards"),
    "variable_lengths": ONE_CELL.format(what="masking steps past a row's length"),
    "padding_carry": ONE_CELL.format(what="masking steps past a row's length"),
    "projection": "eqx.nn.LSTMCell has no projection",
    "peepholes": "eqx.nn.LSTMCell has no peephole connections",
    "peephole_output_previous": "eqx.nn.LSTMCell has no peephole connections",
    "cell_clip": "eqx.nn.LSTMCell has no cell clip",
    "state_clip": "eqx.nn.LSTMCell has no clip of the cell state",
    "proj_clip": "eqx.nn.LSTMCell has no projection, so no projection clip",
    "input_forget": "eqx.nn.LSTMCell has no coupled input-forget gate",
    "forget_bias": "eqx.nn.LSTMCell has no forget-gate bias constant",
    "direction_activations": "eqx.nn.LSTMCell has fixed activations",
    "layer_norm": "eqx.nn.LSTMCell has no layer-normalised gates",
}


def cell_fields(problem, dtype) -> dict:
    """The cell's fields as JAX arrays of `dtype`: weight_ih, weight_hh and, with a bias, bias."""
    import jax.numpy as jnp

    return {k: jnp.asarray(v, dtype=dtype) for k, v in to_equinox(cell_params(problem.params)).items()}


def build_forward(problem, dtype):
    """forward(fields, x, h0, c0) -> {"y", "c", "h_n", "c_n"} in canonical layout: x, h0, c0
    canonical ((T, B, I) or (B, T, I) or (T, I); states (1, B, H) or (1, H))."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    cfg = problem.config
    template = eqx.nn.LSTMCell(cfg.input_size, cfg.hidden_size, use_bias=cfg.bias, dtype=dtype,
                               key=jax.random.PRNGKey(0))
    names = ("weight_ih", "weight_hh", "bias") if cfg.bias else ("weight_ih", "weight_hh")
    batch_first = cfg.batch_first and not cfg.unbatched

    def forward(fields, x, h0, c0):
        cell = eqx.tree_at(lambda m: [getattr(m, n) for n in names], template, [fields[n] for n in names])
        one_step = cell if cfg.unbatched else jax.vmap(cell)  # the cell takes (I,) and ((H,), (H,))
        xs = jnp.swapaxes(x, 0, 1) if batch_first else x

        def step(state, x_t):
            state = one_step(x_t, state)
            return state, state

        (h_n, c_n), (ys, cs) = jax.lax.scan(step, (h0[0], c0[0]), xs)
        if batch_first:
            ys, cs = jnp.swapaxes(ys, 0, 1), jnp.swapaxes(cs, 0, 1)
        return {"y": ys, "c": cs, "h_n": h_n[None], "c_n": c_n[None]}

    return forward


class EquinoxLSTMAdapter(jax_common.JaxAdapter):
    name = "equinox"
    description = "eqx.nn.LSTMCell scanned over time with jax.lax.scan (jax.vmap over the batch), jit, CPU"

    def skip_reason(self) -> Optional[str]:
        package = jax_common.missing("jax", "equinox")
        return f"{package} not installed ({INSTALL_HINT})" if package else None

    def capabilities(self) -> Capabilities:
        return Capabilities(dtypes=jax_common.DTYPES, devices={"cpu"},
                            features={"bias", "initial_state", "batch_first", "unbatched"},
                            outputs={"y", "h_n", "c_n", "c"}, gradients=True, reasons=dict(REASONS))

    def parameter_tree(self, problem, dtype):
        return cell_fields(problem, dtype)

    def build_forward(self, problem, dtype):
        return build_forward(problem, dtype)

    def gradients(self, problem, upstream):
        """jax.vjp through the scan; the one bias's gradient is both canonical biases'."""
        with jax_common.x64():
            functions, arguments, _ = self._arguments(problem)
            g_fields, g_x, g_h0, g_c0 = jax_common.vjp_gradients(functions, arguments, upstream)
        grads = {"x": g_x, "h0": g_h0, "c0": g_c0,
                 "weight_ih_l0": g_fields["weight_ih"], "weight_hh_l0": g_fields["weight_hh"]}
        if "bias" in g_fields:
            grads["bias_ih_l0"] = grads["bias_hh_l0"] = g_fields["bias"]
        return {key: jax_common.as_numpy(value) for key, value in grads.items()}
