"""`flax` (and `flax-optimized`): Flax linen `LSTMCell` (`OptimizedLSTMCell`) scanned over time
by `nn.RNN`, one `nn.RNN` per layer, `nn.Bidirectional` for two directions, on JAX's CPU backend.

The parameters go in through reference/layouts/flax.py (one Dense per gate and input side;
one bias per gate, holding b_ih + b_hh), the carry is (c, h). What maps and what does not:

* lengths: `nn.RNN(seq_lengths=...)` keeps each row's final carry at its last valid step
  (the reverse direction flips only the valid part, `flip_sequences`). Flax does not define
  the outputs past a row's length (they are the cell run on the padding); the adapter sets
  them to zeros, SPEC.md §7's default padding, and does not make up Keras's carried outputs.
* Flax's cells have one `activation_fn` for the cell input and the output (φ = ψ) and one
  `gate_fn`; the jax.nn functions that are the spec's activations are mapped by name.
* float64 needs JAX's x64 mode: the adapter turns it on (jax_enable_x64) before it builds a
  problem; float32 computations are unchanged by it.
* gradients: jax.vjp through the same function; the gradient of Flax's one bias is that of
  both canonical biases.

flax and jax are an optional extra (`pip install lstm-conformance[flax]`), imported only in
prepare and gradients.
"""
from __future__ import annotations

import functools
import importlib.util
from importlib import metadata
from typing import Optional

import numpy as np

from ..adapter import Adapter, Capabilities
from ..reference.layouts import cell_params, from_flax, to_flax
from ..spec.model import state_shapes
from .canonical_checks import check_canonical_inputs, valid_steps

INSTALL_HINT = "pip install lstm-conformance[flax]"

# spec activation name -> jax.nn function with the same definition (SPEC.md §4), without alpha/beta
JAX_ACTIVATIONS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "identity": "identity",
                   "elu": "elu", "leaky_relu": "leaky_relu", "softsign": "soft_sign", "softplus": "softplus"}
# jax.nn's defaults that match the spec's: elu alpha 1.0, leaky_relu negative_slope 0.01

REASONS = {
    "activations": "Flax's LSTM cells take one gate_fn and one activation_fn for both the cell input and the "
                   "output (φ = ψ); mapped: the jax.nn functions " + ", ".join(sorted(JAX_ACTIVATIONS)) +
                   " with their default parameters",
    "projection": "Flax's LSTM cells have no projection",
    "peepholes": "Flax's LSTM cells have no peephole connections",
    "cell_clip": "Flax's LSTM cells have no cell clip",
    "input_forget": "Flax's LSTM cells have no coupled input-forget gate",
    "forget_bias": "Flax's LSTM cells have no run-time forget-gate bias",
    "direction_activations": "the adapter builds both directions of nn.Bidirectional with the same cell activations",
    "peephole_output_previous": "Flax's LSTM cells have no peephole connections",
    "padding_carry": "Flax's nn.RNN leaves the outputs past a row's length unspecified (the cell run on the "
                     "padding); the adapter zeros them (padding: zeros) and does not make up carried outputs",
    "state_clip": "Flax's LSTM cells have no clip of the cell state",
    "proj_clip": "Flax's LSTM cells have no projection",
    "layer_norm": "Flax's LSTM cells have no layer-normalised gates",
}
FEATURES = {"bias", "initial_state", "layers", "bidirectional", "reverse", "variable_lengths", "batch_first",
            "unbatched"}


def missing_package() -> Optional[str]:
    for package in ("jax", "flax"):
        if importlib.util.find_spec(package) is None:
            return package
    return None


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def jax_dtype(name: str):
    import jax
    import jax.numpy as jnp

    if name == "float64":
        jax.config.update("jax_enable_x64", True)
    return jnp.dtype(name)


def activation_fn(act):
    import jax.nn

    return getattr(jax.nn, JAX_ACTIVATIONS[act.name])


def build_model(config, cell_name: str, dtype):
    """A linen module running the configured stack: layer k is `l{k}`, an nn.RNN (one
    direction) or an nn.Bidirectional (two), each with its own cell."""
    import flax.linen as nn
    import jax.numpy as jnp

    cell_class = getattr(nn, cell_name)
    gate, act = activation_fn(config.activation("gate")), activation_fn(config.activation("cell"))
    time_major = not config.batch_first or config.unbatched

    class StackedLSTM(nn.Module):
        @nn.compact
        def __call__(self, x, carries, seq_lengths, valid):
            finals = []
            for k in range(config.num_layers):
                def rnn(**kw):
                    cell = cell_class(config.hidden_size, gate_fn=gate, activation_fn=act, dtype=dtype,
                                      param_dtype=dtype, parent=None)  # unbound: nn.RNN adopts it as "cell"
                    return nn.RNN(cell, time_major=time_major, return_carry=True, **kw)
                if config.num_directions == 2:
                    layer = nn.Bidirectional(rnn(parent=None), rnn(parent=None), time_major=time_major,
                                             return_carry=True, name=f"l{k}")
                    carry, x = layer(x, initial_carry=carries[k], seq_lengths=seq_lengths)
                else:
                    layer = rnn(reverse=config.runs_reverse(0), keep_order=True, name=f"l{k}")
                    carry, x = layer(x, initial_carry=carries[k][0], seq_lengths=seq_lengths)
                    carry = (carry,)
                if valid is not None:  # outputs past a row's length: zeros (Flax leaves them unspecified)
                    x = jnp.where(valid[..., None], x, jnp.zeros((), x.dtype))
                finals.append(carry)
            return x, finals

    return StackedLSTM()


def param_tree(problem, dtype) -> dict:
    """The model's {"params": ...} tree from the canonical parameters (one to_flax per cell)."""
    cfg = problem.config
    tree = {}
    for k in range(cfg.num_layers):
        cells = [to_flax(cell_params(problem.params, k, d)) for d in range(cfg.num_directions)]
        cast = [{name: {p: np.asarray(v, dtype) for p, v in dense.items()} for name, dense in c.items()} for c in cells]
        if cfg.num_directions == 2:
            tree[f"l{k}"] = {"forward_rnn": {"cell": cast[0]}, "backward_rnn": {"cell": cast[1]}}
        else:
            tree[f"l{k}"] = {"cell": cast[0]}
    return {"params": tree}


def canonical_gradients(problem, tree_grads) -> dict:
    """Canonical parameter gradients from the gradient of the Flax tree (from_flax per cell;
    Flax's one bias stands for both canonical biases, so both get its gradient)."""
    cfg = problem.config
    grads = {}
    for k in range(cfg.num_layers):
        for d in range(cfg.num_directions):
            layer = tree_grads["params"][f"l{k}"]
            cell_tree = layer[("forward_rnn", "backward_rnn")[d]]["cell"] if cfg.num_directions == 2 else layer["cell"]
            cell = from_flax({n: {p: np.asarray(v, np.float64) for p, v in dense.items()}
                              for n, dense in cell_tree.items()})
            sfx = f"_l{k}" + ("_reverse" if d else "")
            grads["weight_ih" + sfx], grads["weight_hh" + sfx] = cell["weight_ih"], cell["weight_hh"]
            if cfg.bias:
                grads["bias_ih" + sfx] = grads["bias_hh" + sfx] = cell["bias_hh"]
    return grads


@functools.lru_cache(maxsize=32)
def jitted_forward(config, cell_name: str, dtype_name: str):
    """jax.jit of (params, x, h0, c0, seq_lengths, valid) -> (y, h_n, c_n), canonical layout, one
    per configuration (the checks of a case run the same model many times: compiled once)."""
    import jax
    import jax.numpy as jnp

    model = build_model(config, cell_name, jax_dtype(dtype_name))
    D = config.num_directions

    def forward(params, x, h0, c0, seq_lengths, valid):
        carries = [tuple((c0[k * D + d], h0[k * D + d]) for d in range(D)) for k in range(config.num_layers)]
        y, finals = model.apply(params, x, carries, seq_lengths, valid)
        h_n = jnp.stack([finals[k][d][1] for k in range(config.num_layers) for d in range(D)])
        c_n = jnp.stack([finals[k][d][0] for k in range(config.num_layers) for d in range(D)])
        return y, h_n, c_n

    return jax.jit(forward)


class FlaxProblem:
    """One problem in Flax's terms: its parameter tree and inputs, and the pure function
    forward(params, x, h0, c0) -> (y, h_n, c_n) in canonical layout."""

    def __init__(self, problem, cell_name: str):
        check_canonical_inputs(problem)
        import jax.numpy as jnp

        cfg = problem.config
        self.dtype = jax_dtype(problem.dtype)
        self.function = jitted_forward(cfg, cell_name, problem.dtype)
        self.params = param_tree(problem, self.dtype)
        self.x = jnp.asarray(np.asarray(problem.x), self.dtype)
        shapes = state_shapes(cfg, problem.batch)
        self.h0, self.c0 = (jnp.asarray(np.zeros(shapes[k]) if v is None else np.asarray(v), self.dtype)
                            for k, v in (("h0", problem.h0), ("c0", problem.c0)))
        self.seq_lengths = self.valid = None
        if problem.lengths is not None:
            lengths = np.asarray(problem.lengths)
            # Flax's seq_lengths has the batch shape: () without a batch axis
            self.seq_lengths = jnp.asarray(lengths[0] if cfg.unbatched else lengths, jnp.int32)
            valid = valid_steps(problem)  # (B, T), (T,) unbatched
            self.valid = jnp.asarray(valid if cfg.batch_first or cfg.unbatched else valid.T)  # like y

    def forward(self, params, x, h0, c0):
        return self.function(params, x, h0, c0, self.seq_lengths, self.valid)


class FlaxLSTMAdapter(Adapter):
    name = "flax"
    cell = "LSTMCell"

    @property
    def description(self) -> str:
        return (f"Flax linen {self.cell} scanned by nn.RNN (nn.Bidirectional for two directions) on JAX's CPU "
                f"backend; flax {version('flax')}, jax {version('jax')}")

    def skip_reason(self) -> Optional[str]:
        missing = missing_package()
        return f"{missing} not installed ({INSTALL_HINT})" if missing else None

    def capabilities(self) -> Capabilities:
        names = frozenset(JAX_ACTIVATIONS)
        return Capabilities(dtypes={"float16", "bfloat16", "float32", "float64"}, devices={"cpu"},
                            features=FEATURES, activations={"gate": names, "cell": names, "hidden": names},
                            gradients=True, reasons=dict(REASONS))

    def unsupported_reason(self, problem) -> Optional[str]:
        reason = super().unsupported_reason(problem)
        if reason is None and problem.config.activation("cell") != problem.config.activation("hidden"):
            return REASONS["activations"]
        return reason

    def flax_problem(self, problem) -> FlaxProblem:
        return FlaxProblem(problem, self.cell)

    def prepare(self, problem):
        import jax

        flax_problem = self.flax_problem(problem)
        args = (flax_problem.params, flax_problem.x, flax_problem.h0, flax_problem.c0)
        jax.block_until_ready(flax_problem.forward(*args))  # untimed: the first call compiles

        def run():
            y, h_n, c_n = jax.block_until_ready(flax_problem.forward(*args))
            return {"y": y, "h_n": h_n, "c_n": c_n}

        return run

    def gradients(self, problem, upstream):
        import jax
        import jax.numpy as jnp

        fp = self.flax_problem(problem)
        outputs, pullback = jax.vjp(fp.forward, fp.params, fp.x, fp.h0, fp.c0)
        cotangents = tuple(jnp.zeros_like(o) if upstream.get(k) is None else jnp.asarray(upstream[k], o.dtype)
                           for k, o in zip(("y", "h_n", "c_n"), outputs))
        d_params, d_x, d_h0, d_c0 = pullback(cotangents)
        grads = canonical_gradients(problem, d_params)
        grads.update(x=np.asarray(d_x, np.float64), h0=np.asarray(d_h0, np.float64), c0=np.asarray(d_c0, np.float64))
        return grads


class FlaxOptimizedLSTMAdapter(FlaxLSTMAdapter):
    """The same with OptimizedLSTMCell (the gate kernels concatenated before one matmul)."""
    name = "flax-optimized"
    cell = "OptimizedLSTMCell"
