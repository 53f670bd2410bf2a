"""The normative LSTM model as data: configuration, activations, parameter names and shapes.

Everything else (the reference, the adapters, the harness) talks in these terms. The
equations themselves are in SPEC.md and reference/forward.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Optional

import numpy as np

GATE_ORDER = ("i", "f", "g", "o")  # PyTorch's order of the four blocks of weight_ih/weight_hh
PEEPHOLE_ORDER = ("i", "f", "o")  # rows of peephole_l{k}
ACTIVATION_ROLES = ("gate", "cell", "hidden")  # σ, φ, ψ of SPEC.md
DTYPES = ("float16", "bfloat16", "float32", "float64")
# `direction` (SPEC.md §2): one direction run forward, one run reverse (ONNX direction="reverse",
# WebNN "backward", Keras go_backwards), or both (PyTorch's bidirectional=True).
DIRECTIONS = ("forward", "reverse", "bidirectional")
PEEPHOLE_OUTPUT_STATES = ("new", "previous")  # the state p_o multiplies: c' (ONNX) or c (WebNN)
# `padding` (SPEC.md §7): what y (and the per-step c) hold at steps past a row's length: zeros
# (PyTorch's packed sequences) or the previous step's value, zero before any (Keras masking)
PADDINGS = ("zeros", "carry")
# TFLite's MeanStddevNormalization: (z - mean) / sqrt(variance + 1e-8) (SPEC.md §2, layer_norm)
LAYER_NORM_EPSILON = 1e-8
OUTPUTS = ("y", "h_n", "c_n", "c")  # c: per-step cell states of the last layer, when exposed
# The activations of the spec (ONNX's LSTM list in snake_case, plus identity; SPEC.md §4) and
# ONNX's defaults for alpha and beta (None: the activation has no such parameter or no default).
# The reference (reference/activations.py) implements them.
ACTIVATION_NAMES = ("identity", "tanh", "sigmoid", "relu", "hard_sigmoid", "affine", "leaky_relu",
                    "thresholded_relu", "scaled_tanh", "elu", "softsign", "softplus")
ACTIVATION_DEFAULTS = {
    "leaky_relu": (0.01, None),
    "thresholded_relu": (1.0, None),
    "hard_sigmoid": (0.2, 0.5),
    "elu": (1.0, None),
    "affine": (1.0, 0.0),
}
# The upstream-gradient combinations the gradients check uses: all outputs together, each alone
UPSTREAM_TERMS = {"all": ("y", "h_n", "c_n"), "y": ("y",), "h_n": ("h_n",), "c_n": ("c_n",)}


@dataclass(frozen=True)
class Activation:
    """An activation function by name, with ONNX-style optional alpha and beta."""

    name: str
    alpha: Optional[float] = None
    beta: Optional[float] = None

    def __str__(self) -> str:
        extra = [f"{k}={v:g}" for k, v in (("alpha", self.alpha), ("beta", self.beta)) if v is not None]
        return f"{self.name}({', '.join(extra)})" if extra else self.name

    @classmethod
    def parse(cls, value) -> "Activation":
        if isinstance(value, Activation):
            return value
        if isinstance(value, str):
            return cls(value)
        return cls(value["name"], value.get("alpha"), value.get("beta"))


STANDARD_ACTIVATIONS = {"gate": Activation("sigmoid"), "cell": Activation("tanh"), "hidden": Activation("tanh")}


@dataclass(frozen=True)
class LSTMConfig:
    """Structure and options of one LSTM problem (see SPEC.md for the meaning of each)."""

    input_size: int
    hidden_size: int
    num_layers: int = 1
    bias: bool = True
    bidirectional: bool = False
    proj_size: int = 0
    batch_first: bool = False
    unbatched: bool = False
    peepholes: bool = False
    cell_clip: Optional[float] = None
    input_forget: bool = False
    forget_bias: float = 0.0
    activations: tuple = (STANDARD_ACTIVATIONS["gate"], STANDARD_ACTIVATIONS["cell"], STANDARD_ACTIVATIONS["hidden"])
    # (new fields go last: positional construction keeps working)
    direction: str = "forward"  # "bidirectional" and bidirectional=True are the same (see __post_init__)
    # the reverse direction's (σ, φ, ψ) of a bidirectional LSTM when they differ from the forward
    # direction's `activations` (ONNX: the last three of six activations); None: the same
    activations_reverse: Optional[tuple] = None
    # which state the output gate's peephole sees: "new" c' (ONNX) or "previous", the state
    # entering the step (WebNN); only with peepholes
    peephole_output_state: str = "new"
    # what y and the per-step c hold past a row's length: "zeros" (PyTorch) or "carry" (Keras
    # masking: the previous step's output, zero before any)
    padding: str = "zeros"
    # TF1 LSTMCell's cell_clip: the cell state itself, c', clipped to [-state_clip, state_clip]
    # after the update (what is carried, output and seen by ψ and the output peephole)
    state_clip: Optional[float] = None
    # TF1 / TFLite proj_clip: the projected output W_hr r clipped to [-proj_clip, proj_clip]
    # (only with a projection)
    proj_clip: Optional[float] = None
    # TFLite's layer-normalised LSTM: each gate block's pre-activation (without bias) normalised
    # over the units, times its coefficients layer_norm_l{k} (4, H), then the bias added
    layer_norm: bool = False

    def __post_init__(self):
        # `bidirectional` (PyTorch's spelling) and `direction` name one setting: after this,
        # bidirectional is True exactly when direction is "bidirectional".
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}")
        if self.bidirectional and self.direction == "reverse":
            raise ValueError("bidirectional: true contradicts direction: reverse")
        if self.bidirectional or self.direction == "bidirectional":
            object.__setattr__(self, "bidirectional", True)
            object.__setattr__(self, "direction", "bidirectional")
        if self.peephole_output_state not in PEEPHOLE_OUTPUT_STATES:
            raise ValueError(f"peephole_output_state must be one of {', '.join(PEEPHOLE_OUTPUT_STATES)}, "
                             f"got {self.peephole_output_state!r}")
        if self.padding not in PADDINGS:
            raise ValueError(f"padding must be one of {', '.join(PADDINGS)}, got {self.padding!r}")
        for name in ("state_clip", "proj_clip"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                          and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number or None, got {value!r}")
        if self.proj_clip is not None and not self.proj_size:
            raise ValueError("proj_clip needs a projection (proj_size > 0): it clips the projected output")
        if self.activations_reverse is not None:
            if tuple(self.activations_reverse) == tuple(self.activations):
                object.__setattr__(self, "activations_reverse", None)  # one spelling of "the same"
            elif not self.bidirectional:
                raise ValueError("activations_reverse needs two directions (direction: bidirectional); a single "
                                 "direction, forward or reverse, has its activations in `activations`")
            elif len(self.activations_reverse) != len(ACTIVATION_ROLES):
                raise ValueError(f"activations_reverse must give one activation per role {ACTIVATION_ROLES}, "
                                 f"got {self.activations_reverse!r}")

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def runs_reverse(self, direction: int) -> bool:
        """Whether direction index `direction` (0, or 1 = `_reverse` parameters) runs from
        t = T-1 down to 0: the second direction of a bidirectional LSTM, and the only direction
        of a reverse one."""
        return bool(direction) or self.direction == "reverse"

    @property
    def output_size(self) -> int:
        """Size of h: proj_size when projecting, else hidden_size."""
        return self.proj_size if self.proj_size else self.hidden_size

    @property
    def time_axis(self) -> int:
        """The axis of x, y and c that is time."""
        return 1 if (self.batch_first and not self.unbatched) else 0

    @property
    def batch_axis(self) -> Optional[int]:
        """The axis of x, y and c that is the batch (None when unbatched)."""
        if self.unbatched:
            return None
        return 0 if self.batch_first else 1

    def direction_activations(self, direction: int = 0) -> tuple:
        """(σ, φ, ψ) of direction index `direction` (1: the reverse direction of a
        bidirectional LSTM, which has its own when activations_reverse is set)."""
        if direction and self.activations_reverse is not None:
            return tuple(self.activations_reverse)
        return tuple(self.activations)

    def activation(self, role: str, direction: int = 0) -> Activation:
        return self.direction_activations(direction)[ACTIVATION_ROLES.index(role)]

    @property
    def standard_activations(self) -> bool:
        """σ = sigmoid, φ = ψ = tanh without alpha/beta, in every direction."""
        return all(self.activation(r, d) == STANDARD_ACTIVATIONS[r]
                   for r in ACTIVATION_ROLES for d in range(self.num_directions))

    def features(self) -> set[str]:
        """The optional features this configuration uses (names match Capabilities.features)."""
        used = set()
        if self.bias:
            used.add("bias")
        if self.num_layers > 1:
            used.add("layers")
        for flag in ("bidirectional", "batch_first", "unbatched", "peepholes", "input_forget"):
            if getattr(self, flag):
                used.add(flag)
        if self.direction == "reverse":
            used.add("reverse")
        if self.activations_reverse is not None:
            used.add("direction_activations")
        if self.peepholes and self.peephole_output_state == "previous":
            used.add("peephole_output_previous")
        if self.proj_size:
            used.add("projection")
        if self.cell_clip is not None:
            used.add("cell_clip")
        if self.forget_bias:
            used.add("forget_bias")
        if self.padding == "carry":
            used.add("padding_carry")
        if self.state_clip is not None:
            used.add("state_clip")
        if self.proj_clip is not None:
            used.add("proj_clip")
        if self.layer_norm:
            used.add("layer_norm")
        return used

    def with_options(self, **changes) -> "LSTMConfig":
        """A copy with `changes`; changing one of bidirectional / direction changes the other
        with it (bidirectional=False keeps a reverse direction, else gives forward)."""
        if "direction" in changes and "bidirectional" not in changes:
            changes["bidirectional"] = changes["direction"] == "bidirectional"
        elif "bidirectional" in changes and "direction" not in changes:
            changes["direction"] = ("bidirectional" if changes["bidirectional"]
                                    else "reverse" if self.direction == "reverse" else "forward")
        if "bidirectional" in changes and not changes["bidirectional"] and "activations_reverse" not in changes:
            changes["activations_reverse"] = None  # one direction has one set of activations
        return replace(self, **changes)


CONFIG_OPTION_NAMES = tuple(f.name for f in fields(LSTMConfig) if f.name not in ("input_size", "hidden_size"))


def direction_suffix(direction: int) -> str:
    return "_reverse" if direction else ""


def parameter_shapes(config: LSTMConfig) -> dict[str, tuple[int, ...]]:
    """Canonical (PyTorch) parameter names and shapes, in PyTorch's registration order."""
    H, P = config.hidden_size, config.proj_size
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(config.num_layers):
        layer_input = config.input_size if layer == 0 else config.num_directions * config.output_size
        for direction in range(config.num_directions):
            sfx = f"_l{layer}{direction_suffix(direction)}"
            shapes["weight_ih" + sfx] = (4 * H, layer_input)
            shapes["weight_hh" + sfx] = (4 * H, config.output_size)
            if config.bias:
                shapes["bias_ih" + sfx] = (4 * H,)
                shapes["bias_hh" + sfx] = (4 * H,)
            if P:
                shapes["weight_hr" + sfx] = (P, H)
            if config.peepholes:
                shapes["peephole" + sfx] = (3, H)
            if config.layer_norm:
                shapes["layer_norm" + sfx] = (4, H)  # rows i, f, g, o
    return shapes


def state_shapes(config: LSTMConfig, batch: int) -> dict[str, tuple[int, ...]]:
    """Shapes of h0 and c0 (also of h_n and c_n)."""
    lead = config.num_layers * config.num_directions
    if config.unbatched:
        return {"h0": (lead, config.output_size), "c0": (lead, config.hidden_size)}
    return {"h0": (lead, batch, config.output_size), "c0": (lead, batch, config.hidden_size)}


def input_shape(config: LSTMConfig, seq_len: int, batch: int) -> tuple[int, ...]:
    if config.unbatched:
        return (seq_len, config.input_size)
    if config.batch_first:
        return (batch, seq_len, config.input_size)
    return (seq_len, batch, config.input_size)


@dataclass
class Problem:
    """One concrete problem handed to adapters: canonical float64 arrays whose values are
    exactly representable in `dtype` (they were rounded to it), plus the configuration."""

    case_id: str
    dtype: str
    config: LSTMConfig
    x: np.ndarray
    params: dict[str, np.ndarray]
    h0: Optional[np.ndarray] = None
    c0: Optional[np.ndarray] = None
    lengths: Optional[np.ndarray] = None
    group: str = ""
    tags: tuple = field(default_factory=tuple)
    # per-array dtypes where they differ from `dtype` ("x", "h0", "c0", "params"): set only by
    # the errors check's mixed-dtype input, for adapters declaring Capabilities.mixed_dtypes
    array_dtypes: dict = field(default_factory=dict)

    @property
    def seq_len(self) -> int:
        return self.x.shape[1] if (self.config.batch_first and not self.config.unbatched) else self.x.shape[0]

    @property
    def batch(self) -> int:
        if self.config.unbatched:
            return 1
        return self.x.shape[0] if self.config.batch_first else self.x.shape[1]

    def features(self) -> set[str]:
        """Features used, including those that depend on the data, not only the config."""
        used = self.config.features()
        if self.h0 is not None or self.c0 is not None:
            used.add("initial_state")
        if self.lengths is not None:
            used.add("variable_lengths")
        return used


def padding_mask(problem: Problem) -> Optional[np.ndarray]:
    """Boolean array shaped like x without its feature axis: True at steps past a row's length
    (None when the problem has no lengths)."""
    if problem.lengths is None:
        return None
    steps = np.arange(problem.seq_len)
    if problem.config.unbatched:
        return steps >= problem.lengths[0]
    mask = steps[:, None] >= problem.lengths[None, :]  # (T, B)
    return mask.T if problem.config.batch_first else mask
