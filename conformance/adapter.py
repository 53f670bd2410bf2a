"""The adapter contract: how an implementation under test is plugged into the suite.

A minimal adapter:

    class MyLSTM(Adapter):
        name = "my-lstm"
        def capabilities(self):
            return Capabilities(dtypes={"float32"}, features={"bias", "initial_state"})
        def prepare(self, problem):
            ...convert problem.x / problem.params to your layout, once, untimed...
            return lambda: my_forward(...)      # returns {"y": ..., "h_n": ..., "c_n": ...}

`prepare` receives canonical float64 arrays (values already rounded to `problem.dtype`) and
returns a zero-argument callable doing only the computation; the benchmarks time that call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from .spec.model import ACTIVATION_ROLES, STANDARD_ACTIVATIONS, Problem

# Optional features a problem may use (see LSTMConfig.features and Problem.features).
FEATURES = ("bias", "initial_state", "layers", "bidirectional", "projection", "peepholes",
            "variable_lengths", "batch_first", "unbatched", "cell_clip", "input_forget", "forget_bias",
            "reverse", "direction_activations", "peephole_output_previous", "padding_carry", "state_clip",
            "proj_clip", "layer_norm")

STANDARD_ONLY = {role: frozenset({STANDARD_ACTIVATIONS[role].name}) for role in ACTIVATION_ROLES}


@dataclass
class Capabilities:
    """What an implementation can run. Anything else is reported as unsupported."""

    dtypes: frozenset = frozenset({"float32", "float64"})
    devices: frozenset = frozenset({"cpu"})
    features: frozenset = frozenset({"bias", "initial_state"})
    # role ("gate", "cell", "hidden") -> activation names; None: any activation of the spec
    activations: Optional[dict] = field(default_factory=lambda: dict(STANDARD_ONLY))
    # outputs it returns: y, h_n, c_n, and c (per-step cell states) when exposed
    outputs: frozenset = frozenset({"y", "h_n", "c_n"})
    # gradients(problem, upstream) is implemented (see Adapter.gradients)
    gradients: bool = False
    # False: repeated runs may differ (e.g. atomics); the determinism check then reports the spread
    deterministic: bool = True
    # prepare() honours per-array dtypes (array_dtype below), so mismatched dtypes can be tested
    mixed_dtypes: bool = False
    # feature name (or "activations", "dtype") -> why it is missing, shown in the tables
    reasons: dict = field(default_factory=dict)

    def __post_init__(self):
        self.dtypes, self.devices = frozenset(self.dtypes), frozenset(self.devices)
        self.features, self.outputs = frozenset(self.features), frozenset(self.outputs)
        unknown = set(self.features) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}; known: {', '.join(FEATURES)}")


class Adapter:
    """Base class of adapters. Subclasses set `name` and implement capabilities and prepare."""

    name: str = "unnamed"
    description: str = ""

    def capabilities(self) -> Capabilities:
        raise NotImplementedError

    def skip_reason(self) -> Optional[str]:
        """Why this adapter cannot run in this environment at all (e.g. no GPU), or None."""
        return None

    def unsupported_reason(self, problem: Problem) -> Optional[str]:
        """Why this problem is outside the adapter's capabilities, or None when it can run it."""
        return unsupported_by(self.capabilities(), problem)

    def prepare(self, problem: Problem) -> Callable[[], Any]:
        raise NotImplementedError

    def to_numpy(self, result: Any) -> dict[str, np.ndarray]:
        """Bring the callable's result back as NumPy arrays in canonical layout, native dtype."""
        return outputs_to_numpy(result)

    def gradients(self, problem: Problem, upstream: dict) -> dict:
        """Gradients of  L = Σ upstream["y"]⊙y + Σ upstream["h_n"]⊙h_n + Σ upstream["c_n"]⊙c_n.

        Only called when capabilities().gradients is True. `upstream` maps "y", "h_n", "c_n" to
        canonical float64 arrays shaped like those outputs (values representable in
        problem.dtype), or to None where that term is absent. Returns a dict of arrays (NumPy
        or torch) in canonical layout: "x", every canonical parameter name, and "h0", "c0"
        (the gradients w.r.t. the initial state, zeros when the problem gives none).
        """
        raise NotImplementedError(f"{self.name} declares no gradient support")

    def gradients_unsupported_reason(self, problem: Problem) -> Optional[str]:
        """Optional: why gradients() cannot handle this problem although the adapter declares
        gradient support for others (None: it can). Only asked when capabilities().gradients."""
        return None

    def prepare_training(self, problem: Problem) -> Optional[Callable[[], Any]]:
        """Optional, for the benchmarks' `training` mode (forward+backward timing): like
        prepare, everything untimed done here, and the zero-argument callable runs the forward
        pass and then the backward pass of sum(y) (upstream gradient ones for y, none for h_n
        and c_n) to x, h0, c0 and every parameter, synchronising the device.
        None (this default): the adapter has no timed forward+backward."""
        return None


# The methods an adapter may leave out: the base class's defaults apply. An adapter that does
# not subclass Adapter gets them bound by with_defaults, so the harness calls them directly.
OPTIONAL_METHODS = ("skip_reason", "unsupported_reason", "to_numpy", "gradients", "gradients_unsupported_reason",
                    "prepare_training")


def with_defaults(adapter):
    """The adapter, with the base class's default bound for each optional method it lacks."""
    for method in OPTIONAL_METHODS:
        if not hasattr(adapter, method):
            setattr(adapter, method, getattr(Adapter, method).__get__(adapter))
    # the class first: hasattr on the instance would compute a description property (Keras's
    # reads every installed distribution's metadata) only to learn that it exists
    if not hasattr(type(adapter), "description") and not hasattr(adapter, "description"):
        adapter.description = ""
    return adapter


class AbnormalExit(Exception):
    """The implementation's process crashed or was stopped (isolation's worker died, a case
    ran past --timeout). An error of the run, never an implementation rejecting its input."""


class ContractError(TypeError):
    """The adapter broke this contract (prepare returned no callable, the callable returned no
    outputs). Always an error of the adapter: never counted as rejecting an invalid input."""


CONTRACT = ("the adapter contract: prepare(problem) returns a zero-argument callable, and calling it "
            "returns the outputs as {'y': ..., 'h_n': ..., 'c_n': ...} or (y, (h_n, c_n))")


def prepared_callable(adapter, problem: Problem, method: str = "prepare") -> Callable[[], Any]:
    """adapter.prepare(problem) (or prepare_training), checked to be a callable."""
    prepared = getattr(adapter, method)(problem)
    if not callable(prepared):
        raise ContractError(f"{type(adapter).__name__}.{method}(problem) returned {type(prepared).__name__}, "
                            f"not a callable; {CONTRACT}")
    return prepared


def unsupported_by(caps: Capabilities, problem: Problem) -> Optional[str]:
    reasons = caps.reasons
    if problem.dtype not in caps.dtypes:
        return reasons.get("dtype") or f"dtype {problem.dtype} not supported (supports {', '.join(sorted(caps.dtypes))})"
    missing = sorted(problem.features() - set(caps.features))
    if missing:
        return "; ".join(reasons.get(m, f"feature {m} not supported") for m in missing)
    if caps.activations is not None:  # every direction's activations (they may differ per direction)
        for direction in range(problem.config.num_directions):
            for role in ACTIVATION_ROLES:
                act = problem.config.activation(role, direction)
                if act.name not in caps.activations.get(role, ()) or (act.alpha, act.beta) != (None, None):
                    return reasons.get("activations") or f"{role} activation {act} not supported"
    return None


def to_numpy_array(value) -> np.ndarray:
    """A NumPy array from a NumPy array or a torch tensor (any device), keeping float dtypes
    except bfloat16, which NumPy lacks (returned as float32; the dtype is recorded before)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def native_dtype(value) -> str:
    """Name of an array's or tensor's dtype in the spec's vocabulary (float32, bfloat16, ...)."""
    return str(getattr(value, "dtype", "")).replace("torch.", "")


def outputs_to_numpy(result: Any) -> dict[str, np.ndarray]:
    """Accepts {"y": ..., "h_n": ..., "c_n": ...[, "c": ...]} or torch's (y, (h_n, c_n))."""
    if isinstance(result, dict):
        return {k: to_numpy_array(v) for k, v in result.items()}
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], tuple):
        y, (h_n, c_n) = result
        return {"y": to_numpy_array(y), "h_n": to_numpy_array(h_n), "c_n": to_numpy_array(c_n)}
    raise ContractError(f"the prepared callable returned {type(result).__name__}; {CONTRACT}")


def result_dtypes(result: Any) -> dict[str, str]:
    if isinstance(result, dict):
        return {k: native_dtype(v) for k, v in result.items()}
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], tuple):
        return {"y": native_dtype(result[0]), "h_n": native_dtype(result[1][0]), "c_n": native_dtype(result[1][1])}
    return {}


def array_dtype(problem: Problem, name: str) -> str:
    """The dtype the implementation must receive array `name` ("x", "h0", "c0", "params") in.

    Normally problem.dtype; a check that tests mismatched dtypes sets problem.array_dtypes,
    e.g. {"x": "float64"} for a float32 problem. Adapters declaring Capabilities.mixed_dtypes
    read dtypes through this function instead of casting everything to problem.dtype."""
    return problem.array_dtypes.get(name, problem.dtype)


def tensor_keeping_strides(array: np.ndarray, dtype, device="cpu"):
    """A torch tensor of `dtype` holding `array`'s values with `array`'s memory layout.

    `torch.from_numpy(a).to(dtype)` makes a contiguous copy whenever the dtype changes, so a
    non-contiguous input would never reach the implementation; this keeps the element strides
    (positive strides only, as torch has no negative ones)."""
    import torch  # here, not at the top: the NumPy-only adapters must not need torch

    array = np.asarray(array)
    source = torch.from_numpy(array)
    if array.flags.c_contiguous or array.ndim == 0:
        return source.to(device=device, dtype=dtype)
    strides = tuple(s // array.itemsize for s in array.strides)
    out = torch.empty_strided(array.shape, strides, dtype=dtype, device=device)
    out.copy_(source)
    return out


def gradients_to_numpy(grads: dict) -> dict[str, np.ndarray]:
    """An adapter's gradient dict as float64 NumPy arrays (bfloat16 comes back through float32)."""
    if not isinstance(grads, dict):
        raise TypeError(f"gradients() returned {type(grads).__name__}; expected a dict of arrays")
    return {k: np.asarray(to_numpy_array(v), dtype=np.float64) for k, v in grads.items() if v is not None}
