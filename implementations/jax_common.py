"""Pieces shared by the JAX-family adapters (equinox_lstm.py, haiku_lstm.py): dtypes, 64-bit
mode, outputs back as NumPy, and gradients by jax.vjp; the checks of what a converter would
otherwise drop are canonical_inputs.py's, as for every survey adapter. jax is imported inside
the functions, so importing this module needs no jax."""
from __future__ import annotations

import importlib.util
from typing import Optional

import numpy as np

from ..adapter import Adapter
from .canonical_inputs import check_problem, states_or_zeros

DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})


def missing(*packages: str) -> Optional[str]:
    """The first of `packages` that is not installed, or None."""
    return next((p for p in packages if importlib.util.find_spec(p) is None), None)


def jax_dtype(name: str):
    """The jax.numpy dtype of a spec dtype name (float64 arrays need x64(), below)."""
    import jax.numpy as jnp

    return {"float16": jnp.float16, "bfloat16": jnp.bfloat16, "float32": jnp.float32, "float64": jnp.float64}[name]


def x64():
    """JAX's 64-bit mode for the block it encloses: without it JAX silently computes float64
    inputs in float32. A context, not the process-wide switch, so that other JAX adapters of the
    same run (Flax, Keras on JAX) keep their defaults; explicitly typed float16/bfloat16/float32
    arrays are computed in their own dtype either way."""
    import jax

    return jax.enable_x64(True)


def as_numpy(value) -> np.ndarray:
    """A JAX array as NumPy; bfloat16 (ml_dtypes in NumPy) comes back as float32, which holds
    its values exactly (the result's dtype is recorded before this conversion)."""
    array = np.asarray(value)
    return array.astype(np.float32) if array.dtype.name == "bfloat16" else array


def ready(outputs: dict) -> dict:
    """Wait for JAX's asynchronous dispatch, so that a timed call includes the computation."""
    import jax

    return jax.block_until_ready(outputs)


# Compiled functions by (adapter, configuration, dtype): the checks prepare the same problem
# several times and the training check asks for gradients 300 times, and jax.jit compiles anew
# for every new Python function, so each adapter builds its function once per key.
_COMPILED: dict = {}


def compiled(key, build):
    """(forward, jitted forward, jitted gradient function) for `key`, built once from build(),
    which returns forward(*arguments) -> {output name: array}."""
    import jax

    if key not in _COMPILED:
        if len(_COMPILED) >= 256:  # the library has fewer configurations; a fuzz run may not
            _COMPILED.clear()
        forward = build()

        def gradient(arguments, cotangent):
            _, pullback = jax.vjp(forward, *arguments)
            return pullback(cotangent)

        _COMPILED[key] = (forward, jax.jit(forward), jax.jit(gradient))
    return _COMPILED[key]


def vjp_gradients(functions, arguments: tuple, upstream: dict) -> tuple:
    """The cotangents of `arguments` for L = Σ upstream[k] ⊙ forward(*arguments)[k] (absent
    upstream terms are zeros); `functions` is what compiled() returned."""
    import jax
    import jax.numpy as jnp

    forward, _, gradient = functions
    shapes = jax.eval_shape(forward, *arguments)
    cotangent = {key: (jnp.zeros(shape.shape, shape.dtype) if upstream.get(key) is None
                       else jnp.asarray(upstream[key], dtype=shape.dtype))
                 for key, shape in shapes.items()}
    return gradient(arguments, cotangent)


class JaxAdapter(Adapter):
    """prepare, to_numpy and the arguments of the JAX-family adapters. A subclass gives
    parameter_tree(problem, dtype), its library's parameters, and build_forward(problem, dtype),
    forward(parameters, x, h0, c0) -> {output name: array}."""

    def parameter_tree(self, problem, dtype):
        raise NotImplementedError

    def build_forward(self, problem, dtype):
        raise NotImplementedError

    def _arguments(self, problem):
        """(compiled functions, (parameters, x, h0, c0), jax dtype); call inside x64()."""
        import jax.numpy as jnp

        check_problem(problem)
        dtype = jax_dtype(problem.dtype)
        h0, c0 = states_or_zeros(problem)
        arrays = [jnp.asarray(a, dtype=dtype) for a in (problem.x, h0, c0)]
        functions = compiled((self.name, problem.config, problem.dtype), lambda: self.build_forward(problem, dtype))
        return functions, (self.parameter_tree(problem, dtype), *arrays), dtype

    def prepare(self, problem):
        with x64():
            (_, forward, _), arguments, _ = self._arguments(problem)

        def run():
            with x64():
                return ready(forward(*arguments))

        return run

    def to_numpy(self, result):
        return {key: as_numpy(value) for key, value in result.items()}
