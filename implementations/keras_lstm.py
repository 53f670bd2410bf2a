"""`keras`, `keras-tensorflow`, `keras-jax`, `keras-torch`: the Keras 3 `LSTM` layer on a
Keras backend, run eagerly on the CPU.

Keras picks its backend once, when it is first imported: KERAS_BACKEND, else "backend" in
keras.json (KERAS_HOME or ~/.keras), else tensorflow. `keras` runs on that backend, except that
when KERAS_BACKEND is unset and the chosen backend's package is not installed it picks jax,
else torch (setting KERAS_BACKEND before the import), so that Keras can be imported at all.
The pinned names set KERAS_BACKEND themselves and are skipped, with the reason, when that
backend is not installed or Keras was already imported here with another backend (one
process runs one Keras backend: run each pinned name in its own process).

The mapping (reference/layouts/keras.py for the weights, handed to each layer's
`stateless_call`, so that Keras's initialisers and unit_forget_bias play no part; on JAX the
call is jitted, once per configuration):

* one `LSTM(return_sequences=True, return_state=True)` per layer; two directions:
  `Bidirectional` of it (Keras makes the backward copy with go_backwards=True and flips its
  outputs back); one reverse direction: `go_backwards=True`, whose outputs Keras returns in
  processing order, flipped back to time order here. States are [h, c].
* x is batch-major for Keras: time-major inputs are transposed, an unbatched input gets a
  batch axis of 1, and the outputs go back to the canonical layout.
* lengths: a mask (True at a row's first n_b steps) passed to every layer. Keras masking keeps
  the state on masked steps; its outputs there are the previous step's output (the RNN
  layer's default zero_output_for_mask=False): SPEC.md §7's `padding: carry`, or zeros with
  zero_output_for_mask=True: `padding: zeros`. `Bidirectional` sets zero_output_for_mask to
  return_sequences on both of its layers, so a bidirectional layer pads with zeros only.
* dtypes: the layer's dtype policy (`dtype="float64"` etc.): weights and computation in it.
* one `activation` serves the cell input and the output (φ = ψ), `recurrent_activation` the
  gates; the Keras activations with the spec's definition are mapped by name.

keras (and a backend) are an optional extra (`pip install lstm-conformance[keras]`),
imported only in prepare.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Optional

import numpy as np

from ..adapter import Adapter, Capabilities
from ..reference.layouts import cell_params, to_keras
from ..spec.model import state_shapes
from .canonical_checks import check_canonical_inputs, valid_steps

INSTALL_HINT = "pip install lstm-conformance[keras]"
BACKENDS = ("tensorflow", "jax", "torch")
FALLBACK_BACKENDS = ("jax", "torch")  # when the configured backend is not installed and KERAS_BACKEND is unset

# spec activation name -> Keras activation name with the same definition (SPEC.md §4; Keras's
# elu has alpha 1.0 by default; its hard_sigmoid (x/6 + 1/2) and leaky_relu (slope 0.2) differ)
KERAS_ACTIVATIONS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "identity": "linear", "elu": "elu",
                     "softsign": "softsign", "softplus": "softplus"}

REASONS = {
    "activations": "Keras's LSTM takes one recurrent_activation for the gates and one activation for both the cell "
                   "input and the output (φ = ψ); mapped by name: " + ", ".join(sorted(KERAS_ACTIVATIONS)) +
                   " (Keras's hard_sigmoid and leaky_relu have other constants than the spec's)",
    "projection": "Keras's LSTM has no projection",
    "peepholes": "Keras's LSTM has no peephole connections",
    "cell_clip": "Keras's LSTM has no cell clip",
    "input_forget": "Keras's LSTM has no coupled input-forget gate",
    "forget_bias": "Keras's LSTM has no run-time forget-gate bias (unit_forget_bias only initialises the bias)",
    "direction_activations": "Keras's Bidirectional copies one LSTM's configuration to both directions",
    "peephole_output_previous": "Keras's LSTM has no peephole connections",
    "state_clip": "Keras's LSTM has no clip of the cell state",
    "proj_clip": "Keras's LSTM has no projection",
    "layer_norm": "Keras's LSTM has no layer-normalised gates",
}
BIDIRECTIONAL_CARRY = ("Keras's Bidirectional sets zero_output_for_mask = return_sequences on both of its layers "
                       "(keras/src/layers/rnn/bidirectional.py, force_zero_output_for_mask), so a masked "
                       "bidirectional LSTM outputs zeros past a row's length, never carried outputs")
FEATURES = {"bias", "initial_state", "layers", "bidirectional", "reverse", "variable_lengths", "batch_first",
            "unbatched", "padding_carry"}


def version(distribution: str) -> Optional[str]:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def installed_as(module: str) -> Optional[str]:
    """'DISTRIBUTION VERSION' of what installs the import package `module`, or None. A backend
    may come under another name than its module (tensorflow as tensorflow-cpu): the
    distribution named like the module first, else the ones packages_distributions() gives
    for it (that scan reads every installed distribution, so only when needed)."""
    if version(module):
        return f"{module} {version(module)}"
    for distribution in metadata.packages_distributions().get(module, []):
        if version(distribution):
            return f"{distribution} {version(distribution)}"
    return None


def configured_backend() -> str:
    """The backend Keras takes when imported now: KERAS_BACKEND, else keras.json's, else tensorflow."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        return json.loads((home / "keras.json").read_text()).get("backend") or "tensorflow"
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def default_backend() -> str:
    """The backend `keras` runs on (see the module docstring)."""
    loaded = sys.modules.get("keras")
    if loaded is not None and hasattr(loaded, "backend"):
        return loaded.backend.backend()
    backend = configured_backend()
    if not os.environ.get("KERAS_BACKEND") and not installed(backend):
        return next((b for b in FALLBACK_BACKENDS if installed(b)), backend)
    return backend


def backend_reason(backend: str) -> Optional[str]:
    """Why Keras cannot run on `backend` in this process, or None."""
    if not installed("keras"):
        return f"keras not installed ({INSTALL_HINT})"
    if backend not in BACKENDS:
        return f"unknown Keras backend {backend!r} (KERAS_BACKEND); known: {', '.join(BACKENDS)}"
    if not installed(backend):
        return f"the Keras backend {backend} is not installed (pip install {backend})"
    loaded = sys.modules.get("keras")
    if loaded is not None and hasattr(loaded, "backend") and loaded.backend.backend() != backend:
        return (f"Keras was already imported in this process with the {loaded.backend.backend()} backend; "
                f"a process runs one Keras backend (run {backend} in a process of its own)")
    return None


def import_keras(backend: str, dtype: str):
    """keras, imported with `backend` (KERAS_BACKEND set first) and ready for `dtype`, or
    RuntimeError saying why not."""
    reason = backend_reason(backend)
    if reason:
        raise RuntimeError(reason)
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = backend
    import keras

    if keras.backend.backend() != backend:  # e.g. keras.src imported without keras
        raise RuntimeError(f"Keras runs on {keras.backend.backend()}, not {backend}")
    if backend == "jax" and dtype == "float64":
        import jax  # without x64 mode, JAX (so Keras on JAX) makes every float64 array float32

        jax.config.update("jax_enable_x64", True)
    return keras


def make_layers(keras, config, dtype: str) -> list:
    """One built Keras layer per canonical layer (its weights come with each call)."""
    gate = KERAS_ACTIVATIONS[config.activation("gate").name]
    act = KERAS_ACTIVATIONS[config.activation("cell").name]
    layers, inputs = [], config.input_size
    for _ in range(config.num_layers):
        # zeros initialisers: every weight is replaced, and Keras's orthogonal initialiser (a QR
        # decomposition) has no half-precision kernel on JAX's CPU backend
        lstm = keras.layers.LSTM(config.hidden_size, activation=act, recurrent_activation=gate, use_bias=config.bias,
                                 kernel_initializer="zeros", recurrent_initializer="zeros", unit_forget_bias=False,
                                 return_sequences=True, return_state=True, go_backwards=config.runs_reverse(0),
                                 zero_output_for_mask=config.padding == "zeros", dtype=dtype)
        layer = keras.layers.Bidirectional(lstm, dtype=dtype) if config.num_directions == 2 else lstm
        layer.build((None, None, inputs))
        layers.append(layer)
        inputs = config.num_directions * config.hidden_size
    return layers


def keras_weights(problem) -> list:
    """Per layer, its weights in Keras's order (layer.weights: kernel, recurrent_kernel[, bias],
    the forward layer's then the backward's), from reference/layouts/keras.py."""
    cfg = problem.config
    weights = []
    for k in range(cfg.num_layers):
        layer = []
        for d in range(cfg.num_directions):
            converted = to_keras(cell_params(problem.params, k, d))
            layer += [converted[n] for n in ("kernel", "recurrent_kernel", "bias") if n in converted]
        weights.append(layer)
    return weights


@functools.lru_cache(maxsize=16)
def keras_forward(backend: str, config, dtype: str):
    """(weights, x, states, mask) -> (y, h_n, c_n) in Keras's layout, through the layers'
    stateless_call (Keras's functional call, which its JAX trainer uses), jitted on JAX. One
    per configuration: the checks of a case run the same model many times."""
    keras = import_keras(backend, dtype)
    ops = keras.ops
    layers = make_layers(keras, config, dtype)
    fixed = [[v.value for v in layer.non_trainable_variables] for layer in layers]  # dropout seed states
    reverse_only = config.runs_reverse(0) and config.num_directions == 1

    def forward(weights, x, states, mask):
        y, finals = x, []
        for layer, w, nt, initial in zip(layers, weights, fixed, states):
            (y, *final), _ = layer.stateless_call(w, nt, y, initial_state=initial, mask=mask)
            if reverse_only:
                y = ops.flip(y, axis=1)  # go_backwards returns the outputs in processing order
            finals += final
        return y, ops.stack(finals[0::2]), ops.stack(finals[1::2])  # states are [h, c] per direction

    if backend == "jax":
        import jax

        forward = jax.jit(forward)
    return forward, layers


class KerasAdapter(Adapter):
    """The Keras LSTM layer on `backend` (None: the backend Keras would take, see default_backend)."""

    name = "keras"
    backend: Optional[str] = None

    def _backend(self) -> str:
        return self.backend or default_backend()

    @property
    def description(self) -> str:
        backend = self._backend()
        versions = ", ".join(installed_as(p) or f"{p} not installed" for p in ("keras", backend))
        return f"Keras 3 LSTM layer (Bidirectional for two directions) on the {backend} backend, CPU; {versions}"

    def skip_reason(self) -> Optional[str]:
        return backend_reason(self._backend())

    def capabilities(self) -> Capabilities:
        names = frozenset(KERAS_ACTIVATIONS)
        return Capabilities(dtypes={"float16", "bfloat16", "float32", "float64"}, devices={"cpu"},
                            features=FEATURES, activations={"gate": names, "cell": names, "hidden": names},
                            reasons=dict(REASONS))

    def unsupported_reason(self, problem) -> Optional[str]:
        reason = super().unsupported_reason(problem)
        if reason is None and problem.config.activation("cell") != problem.config.activation("hidden"):
            return REASONS["activations"]
        if reason is None and problem.config.bidirectional and problem.config.padding == "carry":
            return BIDIRECTIONAL_CARRY
        return reason

    def keras_weights(self, problem) -> list:
        return keras_weights(problem)

    def prepare(self, problem):
        check_canonical_inputs(problem)
        backend, cfg, dtype = self._backend(), problem.config, problem.dtype
        keras = import_keras(backend, dtype)
        forward, layers = keras_forward(backend, cfg, dtype)
        ops = keras.ops
        weights = self.keras_weights(problem)
        for layer, values in zip(layers, weights):
            expected = [tuple(v.shape) for v in layer.trainable_variables]
            if [tuple(np.shape(v)) for v in values] != expected:
                raise ValueError(f"Keras weights of shapes {[np.shape(v) for v in values]}, expected {expected}")
        # float64 values, exactly representable in the dtype: converted once, untimed
        weights = [[ops.convert_to_tensor(v, dtype) for v in layer] for layer in weights]
        # Keras's layout: x (B, T, I); states per layer [h, c] (Bidirectional: forward's, then backward's)
        x = np.asarray(problem.x)
        x = x[None] if cfg.unbatched else (x if cfg.batch_first else x.swapaxes(0, 1))
        shapes = state_shapes(cfg, problem.batch)
        h0, c0 = (np.zeros(shapes[k]) if v is None else np.asarray(v)
                  for k, v in (("h0", problem.h0), ("c0", problem.c0)))
        if cfg.unbatched:
            h0, c0 = h0[:, None], c0[:, None]
        D = cfg.num_directions
        states = [[ops.convert_to_tensor(s, dtype) for d in range(D) for s in (h0[k * D + d], c0[k * D + d])]
                  for k in range(cfg.num_layers)]
        mask = None if problem.lengths is None else ops.convert_to_tensor(np.atleast_2d(valid_steps(problem)))
        x = ops.convert_to_tensor(x, dtype)

        def run():
            y, h_n, c_n = (ops.convert_to_numpy(a) for a in forward(weights, x, states, mask))
            if cfg.unbatched:
                return {"y": y[0], "h_n": h_n[:, 0], "c_n": c_n[:, 0]}
            return {"y": y if cfg.batch_first else y.swapaxes(0, 1), "h_n": h_n, "c_n": c_n}

        return run


class KerasTensorflowAdapter(KerasAdapter):
    name, backend = "keras-tensorflow", "tensorflow"


class KerasJaxAdapter(KerasAdapter):
    name, backend = "keras-jax", "jax"


class KerasTorchAdapter(KerasAdapter):
    name, backend = "keras-torch", "torch"
