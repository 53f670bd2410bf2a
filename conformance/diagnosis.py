"""Diagnosis of a failure: where the outputs deviate, and which known defect reproduces them.

`where`: for each failing output, the first failing time step, the failing steps, rows
(batch), units, directions and layers; for gradients, the failing arrays and, for the
(4H, ·) parameters, the gate blocks.

`patterns` (forward): the reference is re-run with each known defect built in, through its
own loop (StepHooks) so that only the defect differs. Listed defects: gate blocks in each of
the 23 wrong orders, a bias dropped, the initial state (or h0, or c0) ignored, no activation
on the cell output, the cell clipped, the forget path dropped, time reversed, h_n/c_n
swapped or taken from the wrong step, a direction's last step skipped, padding processed,
rows sharing state, the reverse direction misaligned, inputs' strides ignored; each option of
the case at its default ("X ignored") or in a known partial form (the clip applied to the
gate pre-activations only, or to ψ's input only, or to the carried state as TF1 does).
Searched systematically (`defect_models`): a gate swap confined to one array, each gate
forced to 1 or 0, each activation computed as each other one, σ overflowing as
e^z / (1 + e^z), a direction started a step late or early, y and c batch-major. A pattern is
named when its outputs differ from the reference on this problem (so it could explain a
failure) and reproduce the implementation's within 4× the tolerance. Recognised from the
outputs instead: computed in float16 / bfloat16 (every output a number of that dtype), then,
where nothing else is named, arithmetic rounded per operation (deviating as the reference
rounded so does) and y written wrong while the recurrence is right.

Gradients: an upstream term ignored, the state path through h, c or both detached, the
initial state ignored (the reference backward with that defect), a gate block's gradient
copied from another block, else the defect of a wrong forward pass. The other checks:
the derived runs of state-chaining, batch-independence, strided and padding-invariance are
diagnosed as the forward check's run (so one defect is one group in the summary),
determinism names run-to-run noise, dtypes upcast outputs, errors what an accepted invalid
input computed.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
from typing import Callable, Iterator, Optional

import numpy as np

from .defects import Named, named
from .metrics import failing_mask, ulp
from .reference import activations, lstm_backward, lstm_forward
from .reference.layouts.onnx import activations_from_onnx, activations_to_onnx, config_activations
from .reference.forward import (StepHooks, clip, from_time_major, run_stack,
                                state_from_batched, state_to_batched, to_time_major)
from .spec.materialize import round_to_dtype
from .spec.model import (ACTIVATION_NAMES, ACTIVATION_ROLES, GATE_ORDER, OUTPUTS, STANDARD_ACTIVATIONS, UPSTREAM_TERMS,
                         Activation, Problem, padding_mask)
from .tolerances import Tolerance, gradient_tolerance, tolerance_for

MATCH_FACTOR = 4.0  # a pattern reproduces the outputs within this multiple of the tolerance
_BITS = {"float16": 16, "bfloat16": 16, "float32": 32, "float64": 64}  # the float dtypes by width
MAX_PLACES = 4  # places a summary names (y, h_n, c_n, c fit; gradients list the first three)
MAX_STEPS_FOR_PATTERNS = 2000  # T·L·D above which re-running ~40 variants is not worth the time


# ----------------------------------------------------------------------------- where

def compact(indices) -> str:
    """'0-3, 7, 9-10' for [0, 1, 2, 3, 7, 9, 10]."""
    indices = sorted(int(i) for i in indices)
    parts, start = [], None
    for k, i in enumerate(indices):
        if start is None:
            start = i
        if k + 1 == len(indices) or indices[k + 1] != i + 1:
            parts.append(str(start) if start == i else f"{start}-{i}")
            start = None
    return ", ".join(parts)


def locate_output(name: str, expected: np.ndarray, got: np.ndarray, tol: Tolerance, problem: Problem) -> Optional[dict]:
    """Where one output is out of tolerance, or None when it is not."""
    expected, got = np.asarray(expected, np.float64), np.asarray(got, np.float64)
    if expected.shape != got.shape:
        return {"shape": f"{got.shape} instead of {expected.shape}"}
    mask = failing_mask(expected, got, tol)
    if not mask.any():
        return None
    config = problem.config
    info = {"failing_elements": int(mask.sum()), "of": int(mask.size)}
    non_finite = int((~np.isfinite(got) & np.isfinite(expected)).sum())
    if non_finite:
        info["non_finite"] = non_finite
    if name in ("y", "c"):
        tm = to_time_major(config, mask)  # (T, B, D·F)
        steps = np.nonzero(tm.any(axis=(1, 2)))[0]
        info.update(first_step=int(steps[0]), steps=compact(steps), rows=compact(np.nonzero(tm.any(axis=(0, 2)))[0]))
        width = tm.shape[2] // config.num_directions
        units = np.nonzero(tm.any(axis=(0, 1)))[0]
        info["units"] = compact(units % width)
        if config.bidirectional:
            info["directions"] = sorted({"reverse" if u >= width else "forward" for u in units})
    else:
        st = state_to_batched(config, mask)  # (L·D, B, F)
        slots = np.nonzero(st.any(axis=(1, 2)))[0]
        D = config.num_directions
        info["layers"] = compact(sorted({s // D for s in slots}))
        if config.bidirectional:
            info["directions"] = sorted({"reverse" if s % D else "forward" for s in slots})
        info.update(rows=compact(np.nonzero(st.any(axis=(0, 2)))[0]), units=compact(np.nonzero(st.any(axis=(0, 1)))[0]))
    return info


def locate_outputs(problem: Problem, expected: dict, got: dict, tol: Tolerance) -> dict:
    where = {}
    for name in OUTPUTS:
        if name in expected and name in got:
            info = locate_output(name, expected[name], got[name], tol, problem)
            if info:
                where[name] = info
    return where


# ----------------------------------------------------------------------------- defect variants

def gate_order_name(perm: tuple) -> str:
    """How an implementation that uses canonical block perm[k] as gate k reads the blocks."""
    moved = [k for k in range(4) if perm[k] != k]
    if len(moved) == 2:
        a, b = moved
        return named("gate-blocks-swapped", a=GATE_ORDER[a], b=GATE_ORDER[b])
    order = ", ".join(GATE_ORDER[p] for p in perm)
    return named("gate-order", order=order)


GATED_ARRAYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # the arrays with four gate blocks


def permute_gates(params: dict, perm: tuple, hidden: int, arrays: tuple = GATED_ARRAYS) -> dict:
    """Parameters whose gate k block is the canonical block perm[k] (in the 4H-row arrays whose
    names start with one of `arrays`)."""
    out = {}
    for name, value in params.items():
        if name.startswith(arrays):
            blocks = value.reshape((4, hidden) + value.shape[1:])
            value = blocks[list(perm)].reshape(value.shape)
        out[name] = value
    return out


def _reference(problem: Problem, **changes) -> dict:
    args = dict(config=problem.config, x=problem.x, params=problem.params, h0=problem.h0, c0=problem.c0,
                lengths=problem.lengths)
    args.update(changes)
    return lstm_forward(args["config"], args["x"], args["params"], args["h0"], args["c0"], args["lengths"]).as_dict()


def _cell_output(config, p: dict, step, c_new: np.ndarray) -> np.ndarray:
    """h' = o ⊙ ψ(clip(c')) (then the projection) for a replaced c' (o unchanged: no peepholes)."""
    h = step.o * activations.apply(config.activation("hidden"), clip(config, c_new))
    return h @ p["weight_hr"].T if config.proj_size else h


def forward_with(problem: Problem, new_state: Callable, carry: Callable = None, step_config=None) -> dict:
    """The reference with a defect: new_state(config, p, step) -> (h', c') replaces each step's
    result, carry(h, c) -> (h, c) what is handed to the next step, and each step computes with
    `step_config` (default the problem's). It is the reference's own loop (run_stack with
    StepHooks), so only the defect differs."""
    config = problem.config
    hooks = StepHooks(new_state=new_state, carry=carry, step_config=step_config)
    y, cells, h_n, c_n, _ = run_stack(config, to_time_major(config, problem.x), problem.params,
                                      state_to_batched(config, problem.h0), state_to_batched(config, problem.c0),
                                      problem.lengths, hooks=hooks)
    return {"y": from_time_major(config, y), "c": from_time_major(config, cells),
            "h_n": state_from_batched(config, h_n), "c_n": state_from_batched(config, c_n)}


def _psi_output(config, p: dict, o: np.ndarray, psi_input: np.ndarray) -> np.ndarray:
    """h' = o ⊙ ψ(psi_input) (then the projection), with no clip of its own."""
    h = o * activations.apply(config.activation("hidden"), psi_input)
    return h @ p["weight_hr"].T if config.proj_size else h


def _defaults_of(act: Activation) -> Activation:
    return Activation(act.name)


def _alpha_read_by_position(config) -> Optional[dict]:
    """The activations an ONNX reader taking the flat alpha / beta lists by position gets from a
    model written in the spec's (consumed) reading, as config changes; None when they are the
    same or unusable (a ScaledTanh left without its values)."""
    try:
        attrs = activations_to_onnx(config_activations(config))
        acts = activations_from_onnx(attrs["activations"], attrs.get("activation_alpha"),
                                     attrs.get("activation_beta"), reading="positional")
        changes = {"activations": tuple(acts[:3]),
                   "activations_reverse": tuple(acts[3:]) if config.bidirectional else None}
        if any(a.name == "scaled_tanh" and (a.alpha is None or a.beta is None) for a in acts):
            return None
    except ValueError:
        return None
    if tuple(acts) == tuple(config_activations(config)):
        return None
    return changes


def option_variants(problem: Problem) -> Iterator[tuple[str, Callable[[], dict]]]:
    """"X ignored": the reference with one option of the case at its default (its parameters
    dropped where it has some), and the known partial forms of an option."""
    config = problem.config

    def without(config_changes: dict, drop=(), **changes):
        params = {k: v for k, v in problem.params.items() if not (drop and k.startswith(drop))}
        return lambda: _reference(problem, config=config.with_options(**config_changes), params=params, **changes)

    if config.peepholes:
        yield named("peepholes-ignored"), without({"peepholes": False}, drop=("peephole",))
        other = "new" if config.peephole_output_state == "previous" else "previous"
        seen = {"new": "the new state c' (ONNX)", "previous": "the state entering the step (WebNN)"}
        yield (named("output-peephole-state", got=seen[other], spec=seen[config.peephole_output_state]),
               without({"peephole_output_state": other}))
    if config.input_forget:
        yield named("input-forget-ignored"), without({"input_forget": False})
    if config.forget_bias:
        yield named("forget-bias-ignored", value=f"{config.forget_bias:g}"), without({"forget_bias": 0.0})
    if config.cell_clip is not None:
        bound = config.cell_clip
        yield named("cell-clip-ignored"), without({"cell_clip": None})
        yield named("cell-clip-gates-only"), lambda: forward_with(
            problem, lambda cfg, p, s: (_psi_output(cfg, p, s.o, s.c_new), s.c_new))
        yield named("cell-clip-psi-only"), lambda: forward_with(
            problem, lambda cfg, p, s: (_psi_output(cfg, p, s.o, np.clip(s.c_new, -bound, bound)), s.c_new),
            step_config=config.with_options(cell_clip=None))
        if not config.peepholes:  # o would see the clipped state: not what the step computed
            yield named("cell-clip-on-state"), lambda: forward_with(
                problem, lambda cfg, p, s: (_psi_output(cfg, p, s.o, np.clip(s.c_new, -bound, bound)),
                                            np.clip(s.c_new, -bound, bound)))
    nonstandard = [r for r in ACTIVATION_ROLES if config.activation(r) != STANDARD_ACTIVATIONS[r]]
    symbols = {"gate": "σ", "cell": "φ", "hidden": "ψ"}
    for role in nonstandard:
        act, default = config.activation(role), STANDARD_ACTIVATIONS[role]
        acts = tuple(default if r == role else config.activation(r) for r in ACTIVATION_ROLES)
        yield (named("activation-ignored", role=role, symbol=symbols[role], act=act, default=default),
               without({"activations": acts}))
        if (act.alpha is not None or act.beta is not None) and act.name != "scaled_tanh":
            acts = tuple(_defaults_of(act) if r == role else config.activation(r) for r in ACTIVATION_ROLES)
            yield named("activation-parameters-ignored", role=role, act=act), without({"activations": acts})
    if len(nonstandard) > 1:
        yield (named("activations-ignored"),
               without({"activations": tuple(STANDARD_ACTIVATIONS[r] for r in ACTIVATION_ROLES)}))
    if not config.standard_activations:
        positional = _alpha_read_by_position(config)
        if positional is not None:
            yield named("onnx-alpha-by-position"), without(positional)
    if config.padding == "carry" and problem.lengths is not None:
        yield named("padding-carry-ignored"), without({"padding": "zeros"})
    if config.state_clip is not None:
        yield named("state-clip-ignored", value=f"{config.state_clip:g}"), without({"state_clip": None})
    if config.proj_clip is not None:
        yield named("proj-clip-ignored", value=f"{config.proj_clip:g}"), without({"proj_clip": None})
    if config.layer_norm:
        yield named("layer-norm-ignored"), without({"layer_norm": False}, drop=("layer_norm",))
        yield named("layer-norm-coefficients-ignored"), lambda: _reference(
            problem, params={k: (np.ones_like(v) if k.startswith("layer_norm") else v)
                             for k, v in problem.params.items()})
    if config.activations_reverse is not None:
        yield (named("reverse-activations-ignored"),
               without({"activations_reverse": None}))
    if config.num_layers > 1:
        upper = tuple(f"{kind}_l{k}" for k in range(1, config.num_layers)
                      for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr", "peephole",
                                   "layer_norm"))
        yield named("num-layers-ignored"), without({"num_layers": 1}, drop=upper)
    if config.bidirectional:
        reverse = {k for k in problem.params if k.endswith("_reverse")}
        yield named("bidirectional-ignored"), lambda: _reference(
            problem, config=config.with_options(bidirectional=False),
            params={k: v for k, v in problem.params.items() if k not in reverse})
    if config.direction == "reverse":
        yield named("reverse-direction-ignored"), without({"direction": "forward"})
    if config.batch_first:
        yield named("batch-first-ignored"), without({"batch_first": False})
    if problem.lengths is not None:
        yield named("lengths-ignored"), lambda: _reference(problem, lengths=None)


def defect_models(problem: Problem) -> Iterator[tuple[str, Callable[[], dict]]]:
    """Defects searched systematically rather than listed one by one: a gate-block swap
    confined to one kind of array (weight_ih, weight_hh, the biases), each gate forced to 1,
    and each activation role computed with each other activation of the spec."""
    config, H = problem.config, problem.config.hidden_size
    kinds = {"weight_ih": ("weight_ih",), "weight_hh": ("weight_hh",), "the biases": ("bias_ih", "bias_hh")}
    for a, b in itertools.combinations(range(4), 2):
        perm = tuple(b if k == a else a if k == b else k for k in range(4))
        for label, arrays in kinds.items():
            if any(name.startswith(arrays) for name in problem.params):
                yield (named("gate-blocks-swapped-in", a=GATE_ORDER[a], b=GATE_ORDER[b], arrays=label),
                       lambda perm=perm, arrays=arrays: _reference(
                           problem, params=permute_gates(problem.params, perm, H, arrays)))
    if not config.peepholes and not config.input_forget and config.cell_clip is None:
        def forced(c_of):
            return lambda: forward_with(problem, lambda cfg, p, s: (_cell_output(cfg, p, s, c_of(s)), c_of(s)))
        yield named("gate-forced-to-one", gate="forget", formula="c' = c + i ⊙ g"), forced(lambda s: s.c + s.i * s.g)
        yield named("gate-forced-to-one", gate="input", formula="c' = f ⊙ c + g"), forced(lambda s: s.f * s.c + s.g)
        yield named("gate-forced-to-one", gate="output", formula="h' = ψ(c')"), lambda: forward_with(
            problem, lambda cfg, p, s: (_psi_output(cfg, p, np.ones_like(s.o), s.c_new), s.c_new))
        yield named("gate-forced-to-zero", gate="input", formula="c' = f ⊙ c"), forced(lambda s: s.f * s.c)
        yield named("gate-forced-to-zero", gate="output", formula="h' = 0"), lambda: forward_with(
            problem, lambda cfg, p, s: (_psi_output(cfg, p, np.zeros_like(s.o), s.c_new), s.c_new))
        if (config.activation("gate") == STANDARD_ACTIVATIONS["gate"] and not config.layer_norm
                and config.state_clip is None and config.proj_clip is None):
            yield _sigmoid_overflow(problem)
    yield from _step_order_models(problem)
    yield from _layout_models(problem)
    symbols = {"gate": "σ", "cell": "φ", "hidden": "ψ"}
    for role in ACTIVATION_ROLES:
        act = config.activation(role)
        # scaled_tanh has no defaults to compute with; affine's defaults (1, 0) make it identity
        covered = {act.name, "scaled_tanh", "affine"}
        if act != STANDARD_ACTIVATIONS[role]:
            covered.add(STANDARD_ACTIVATIONS[role].name)  # "… ignored (the standard used)" names that one
        if role == "hidden":
            covered.add("identity")  # "no activation on the cell output" names that one
        for other in ACTIVATION_NAMES:
            if other in covered:
                continue
            acts = tuple(Activation(other) if r == role else config.activation(r) for r in ACTIVATION_ROLES)
            yield (named("activation-computed-as", role=role, symbol=symbols[role], other=other, act=act),
                   lambda acts=acts: _reference(problem, config=config.with_options(activations=acts)))


# The float dtype an implementation computing in the problem's dtype evaluates exp() in
# (bfloat16 has float32's exponent range), and where e^z overflows in it.
_EXP_DTYPE = {"float16": np.float16, "bfloat16": np.float32, "float32": np.float32, "float64": np.float64}


def _sigmoid_overflow(problem: Problem) -> tuple[str, Callable[[], dict]]:
    """σ(z) = e^z / (1 + e^z) evaluated in the problem's dtype: inf / inf = NaN where e^z
    overflows (the gates i, f, o recomputed so, the rest of the step as the reference's)."""
    dtype = _EXP_DTYPE.get(problem.dtype, np.float64)

    def naive(z):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(np.asarray(z).astype(dtype))
            return (e / (1 + e)).astype(np.float64)

    def new_state(cfg, p, s):
        f = 1.0 - naive(s.a_i) if cfg.input_forget else naive(s.a_f)
        c_new = f * s.c + naive(s.a_i) * s.g
        return _psi_output(cfg, p, naive(s.a_o), clip(cfg, c_new)), c_new
    return named("sigmoid-overflows"), lambda: forward_with(problem, new_state)


def _step_order_models(problem: Problem) -> Iterator[tuple[str, Callable[[], dict]]]:
    """A direction's loop over time started one step late (its first step skipped, its output
    there zero) or one step early (step t reading x at t ∓ 1, so its first step's x is computed
    twice): for one layer without lengths, in each direction of the case."""
    config, T = problem.config, problem.seq_len
    if config.num_layers != 1 or problem.lengths is not None or T < 2:
        return
    ax = config.time_axis
    D = config.num_directions
    computed = {}

    def correct() -> dict:
        if "full" not in computed:
            computed["full"] = _reference(problem)
        return computed["full"]

    def on_steps(indices, direction: int, pad: Optional[str] = None):
        """The reference on x at `indices`; in direction `direction` only (the others as the
        reference's), its y and c zero-padded at the front or back to T steps."""
        def run():
            out, full = _reference(problem, x=np.take(problem.x, indices, axis=ax)), correct()
            result = {}
            for k in ("y", "c"):
                tm, width = to_time_major(config, out[k]), to_time_major(config, full[k]).shape[2] // D
                if pad:
                    zero = np.zeros_like(tm[:1])
                    tm = np.concatenate([zero, tm] if pad == "front" else [tm, zero], axis=0)
                merged = to_time_major(config, full[k]).copy()
                merged[:, :, direction * width:(direction + 1) * width] = tm[:, :, direction * width:(direction + 1) * width]
                result[k] = from_time_major(config, merged)
            for k in ("h_n", "c_n"):
                merged = state_to_batched(config, full[k]).copy()
                merged[direction] = state_to_batched(config, out[k])[direction]
                result[k] = state_from_batched(config, merged)
            return result
        return run

    for d in range(D):
        label = "reverse" if config.runs_reverse(d) else "forward"
        if D == 2 and label == "forward":  # (one forward direction: the listed last-step-skipped)
            yield named("last-step-skipped", direction=label), on_steps(np.arange(T - 1), d, "back")
        elif label == "reverse":  # its last step is step 0
            yield named("last-step-skipped", direction=label), on_steps(np.arange(1, T), d, "front")
        if label == "forward":
            yield (named("first-step-skipped", direction=label, first=0), on_steps(np.arange(1, T), d, "front"))
            yield (named("first-step-repeated", direction=label, read="t - 1"),
                   on_steps(np.r_[0, np.arange(T - 1)], d))
        else:
            yield (named("first-step-skipped", direction=label, first=T - 1), on_steps(np.arange(T - 1), d, "back"))
            yield (named("first-step-repeated", direction=label, read="t + 1"),
                   on_steps(np.r_[np.arange(1, T), T - 1], d))


def _layout_models(problem: Problem) -> Iterator[tuple[str, Callable[[], dict]]]:
    """y and c returned with the time and batch axes swapped (batch-major for a time-major
    case, or the reverse); h_n and c_n with the batch axis first."""
    config = problem.config
    if config.unbatched:
        return
    layouts = ("time-major (T, B, ·)", "batch-major (B, T, ·)")
    got, spec = layouts[::-1] if not config.batch_first else layouts

    def swapped(names):
        out = _reference(problem)
        return {k: (np.swapaxes(v, 0, 1) if k in names else v) for k, v in out.items()}
    yield named("outputs-axes-swapped", outputs="y and c", got=got, spec=spec), lambda: swapped(("y", "c"))
    yield (named("outputs-axes-swapped", outputs="h_n and c_n", got="(B, L·D, ·)", spec="(L·D, B, ·)"),
           lambda: swapped(("h_n", "c_n")))


def _contiguous_reading(a):
    """`a` read as if its memory were contiguous from its first element (an implementation
    ignoring strides), or None when it is contiguous or that read would leave its buffer."""
    if a is None or a.flags.c_contiguous or a.size == 0:
        return None
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    start, end = a.__array_interface__["data"][0], root.__array_interface__["data"][0] + root.nbytes
    if not root.flags.c_contiguous or start + a.size * a.itemsize > end:
        return None
    contiguous = np.empty(a.shape, a.dtype).strides
    return np.lib.stride_tricks.as_strided(a, a.shape, contiguous, writeable=False).copy()


def _strides_ignored(problem: Problem) -> Iterator[tuple[str, Callable[[], dict]]]:
    """Every non-contiguous input read as contiguous memory (the strided check's views)."""
    arrays = {"x": problem.x, "h0": problem.h0, "c0": problem.c0, **problem.params}
    read = {k: _contiguous_reading(v) for k, v in arrays.items()}
    changed = [k for k, v in read.items() if v is not None]
    if not changed:
        return

    def model():
        value = lambda k: read[k] if read[k] is not None else arrays[k]  # noqa: E731
        return _reference(problem, x=value("x"), h0=value("h0"), c0=value("c0"),
                          params={k: value(k) for k in problem.params})
    yield named("strides-ignored"), model


def _flip_time(config, a: np.ndarray) -> np.ndarray:
    return np.flip(a, axis=config.time_axis)


def forward_variants(problem: Problem, reference: dict) -> Iterator[tuple[str, Callable[[], dict]]]:
    """(pattern name, function computing the outputs of an implementation with that defect),
    for the patterns that apply to this problem's configuration."""
    config = problem.config
    H, T = config.hidden_size, problem.seq_len
    plain = not config.peepholes  # the state hooks recompute h' from o, which a peephole on c' changes
    yield from option_variants(problem)
    for perm in itertools.permutations(range(4)):
        if perm != (0, 1, 2, 3):
            yield gate_order_name(perm), lambda perm=perm: _reference(
                problem, params=permute_gates(problem.params, perm, H))
    if config.bias:
        zero = lambda names: {k: (np.zeros_like(v) if k.startswith(names) else v)  # noqa: E731
                              for k, v in problem.params.items()}
        yield named("biases-dropped"), lambda: _reference(problem, params=zero(("bias_",)))
        yield named("hidden-bias-dropped"), lambda: _reference(problem, params=zero(("bias_hh",)))
        yield named("input-bias-dropped"), lambda: _reference(problem, params=zero(("bias_ih",)))
    if problem.h0 is not None and problem.c0 is not None:
        yield named("initial-state-ignored"), lambda: _reference(problem, h0=None, c0=None)
    if problem.h0 is not None:  # (with c0 not given, the same as the whole initial state ignored)
        yield named("h0-ignored"), lambda: _reference(problem, h0=None)
    if problem.c0 is not None:
        yield named("c0-ignored"), lambda: _reference(problem, c0=None)
    if problem.h0 is not None and problem.c0 is not None:
        if problem.h0.shape == problem.c0.shape:
            yield named("h0-c0-swapped"), lambda: _reference(problem, h0=problem.c0, c0=problem.h0)
    if config.activation("hidden").name != "identity":
        acts = (config.activations[0], config.activations[1], Activation("identity"))
        yield named("no-cell-output-activation"), lambda: _reference(
            problem, config=config.with_options(activations=acts))
    if plain:
        yield named("forget-path-dropped"), lambda: forward_with(
            problem, lambda cfg, p, s: (_cell_output(cfg, p, s, s.i * s.g), s.i * s.g))
        yield named("cell-state-clipped"), lambda: forward_with(
            problem, lambda cfg, p, s: (_cell_output(cfg, p, s, np.clip(s.c_new, -1, 1)), np.clip(s.c_new, -1, 1)))
    if problem.batch >= 2 and not config.unbatched:
        share = lambda h, c: (np.repeat(h[-1:], len(h), 0), np.repeat(c[-1:], len(c), 0))  # noqa: E731
        yield named("batch-rows-share-state"), lambda: forward_with(
            problem, lambda cfg, p, s: (s.h_new, s.c_new), carry=share)
    if problem.lengths is None and T >= 2:
        def reversed_time():
            out = _reference(problem, x=_flip_time(config, problem.x).copy())
            return {k: (_flip_time(config, v) if k in ("y", "c") else v) for k, v in out.items()}
        yield named("time-reversed"), reversed_time
    elif T >= 2 and config.num_directions == 1 and config.direction == "forward":
        # with lengths, each row reversed within its length: what a reverse direction computes
        yield named("time-reversed"), lambda: _reference(problem, config=config.with_options(direction="reverse"))
    if problem.lengths is None and T >= 2 and config.num_directions == 1 and config.direction == "forward":
        def last_step_skipped():
            ax = config.time_axis
            out = _reference(problem, x=np.take(problem.x, np.arange(T - 1), axis=ax))
            pad = lambda a: np.concatenate([a, np.zeros_like(np.take(a, [0], axis=ax))], axis=ax)  # noqa: E731
            return {k: (pad(v) if k in ("y", "c") else v) for k, v in out.items()}
        yield named("last-step-skipped", direction="forward"), last_step_skipped
    if config.output_size == H:
        yield named("final-state-swapped"), lambda: dict(reference, h_n=reference["c_n"], c_n=reference["h_n"])
    if config.num_layers == 1 and T >= 2:  # each direction's final state from the outputs at step k
        tm_y, tm_c = to_time_major(config, reference["y"]), to_time_major(config, reference["c"])
        D, P = config.num_directions, config.output_size

        def from_step(k):
            h = np.stack([tm_y[k][:, d * P:(d + 1) * P] for d in range(D)])
            c = np.stack([tm_c[k][:, d * H:(d + 1) * H] for d in range(D)])
            return dict(reference, h_n=state_from_batched(config, h), c_n=state_from_batched(config, c))
        for k in range(T - 1):
            yield named("final-state-from-step", step="T-2" if k == T - 2 else k), lambda k=k: from_step(k)
    if problem.lengths is not None:
        def padding_processed():
            out = _reference(problem, lengths=None)
            mask = padding_mask(problem)[..., None]
            return {k: (np.where(mask, 0.0, v) if k in ("y", "c") else v) for k, v in out.items()}
        yield named("padding-processed"), padding_processed
    if config.bidirectional and config.num_layers == 1 and problem.lengths is None:
        def reverse_misaligned():
            out = dict(reference)
            for k, width in (("y", config.output_size), ("c", H)):
                tm = to_time_major(config, reference[k]).copy()
                tm[:, :, width:] = tm[::-1, :, width:]
                out[k] = from_time_major(config, tm)
            return out
        yield named("reverse-not-realigned"), reverse_misaligned
    yield from _strides_ignored(problem)
    yield from defect_models(problem)  # last: the listed patterns come first when several match


def _one_name_per_defect(patterns: list) -> list:
    """Where a gate-block swap in every array reproduces the outputs, the same swap confined to
    one kind of array (which the case cannot tell apart from it) is not named too."""
    ids = {p.defect_id for p in patterns}
    if "gate-blocks-swapped" in ids:
        patterns = [p for p in patterns if p.defect_id != "gate-blocks-swapped-in"]
    return patterns


def _reproduces(variant: dict, got: dict, reference: dict, tol: Tolerance) -> bool:
    """The variant explains `got`: it matches on every output both have, and differs from
    the reference somewhere (else it explains nothing on this problem)."""
    loose = Tolerance(tol.atol * MATCH_FACTOR, tol.rtol * MATCH_FACTOR)
    names = [n for n in OUTPUTS if n in got and n in variant]
    if not names or any(np.shape(got[n]) != np.shape(variant[n]) for n in names):
        return False
    if any(failing_mask(variant[n], got[n], loose).any() for n in names):
        return False
    return any(np.shape(reference[n]) != np.shape(variant[n]) or failing_mask(reference[n], variant[n], tol).any()
               for n in names if n in reference)


def computed_in(problem: Problem, got: dict, reference: dict) -> Optional[str]:
    """'bfloat16' or 'float16' when every output value of a wider-dtype problem is a number of
    that dtype while the reference's are not: the implementation computed (or rounded) in it."""
    if problem.dtype not in ("float32", "float64"):
        return None
    values = np.concatenate([np.ravel(got[n]) for n in OUTPUTS if n in got] or [np.zeros(0)]).astype(np.float64)
    expected = np.concatenate([np.ravel(reference[n]) for n in OUTPUTS if n in got] or [np.zeros(0)])
    values, expected = values[np.isfinite(values)], expected[np.isfinite(expected)]
    if np.count_nonzero(values != np.round(values)) < 4:  # zeros and whole numbers are numbers of every
        return None                                       # dtype: too few other values is no evidence
    for dtype in ("bfloat16", "float16"):
        representable = lambda a: round_to_dtype(a, dtype) == a  # noqa: E731
        if values.size and representable(values).all() and (~representable(expected)).sum() >= 4:
            return dtype
    return None


def diagnose_forward(problem: Problem, got: dict, reference: dict, tol: Tolerance) -> dict:
    """{"where", "patterns", "summary"} for outputs `got` that failed the forward check."""
    got = {k: np.asarray(v, np.float64) for k, v in got.items()}
    where = locate_outputs(problem, reference, got, tol)
    patterns = []
    narrow = computed_in(problem, got, reference)
    if narrow:
        patterns.append(named("computed-in", dtype=narrow))
    steps = problem.seq_len * problem.config.num_layers * problem.config.num_directions
    tried = steps <= MAX_STEPS_FOR_PATTERNS
    if tried:
        for name, make in forward_variants(problem, reference):
            try:
                variant = make()
            except (ValueError, FloatingPointError):  # the variant is undefined for this problem
                continue
            if _reproduces(variant, got, reference, tol):
                patterns.append(name)
        patterns = _one_name_per_defect(patterns)
    if not patterns and not narrow and tried:
        rounded = rounded_per_operation(problem, got, reference, tol)
        if rounded:
            patterns.append(rounded)
    if not patterns:
        written = written_wrong(problem, got, reference, tol)
        if written:
            patterns.append(written)
    return {"where": where, "patterns": [str(p) for p in patterns], "defects": _ids(patterns),
            "summary": _summary(where, patterns, tried)}


def _rounded_step(dtype: str) -> Callable:
    """A step whose every operation's result is rounded to `dtype` (its inputs, parameters
    and the state it receives too): a = W_ih x + W_hh h + (b_ih + b_hh), the gates, c', ψ(c')
    and h', each sum and product in turn."""
    def r(a):
        return round_to_dtype(np.asarray(a, np.float64), dtype)

    def new_state(cfg, p, s):
        q = {k: r(v) for k, v in p.items()}
        H = cfg.hidden_size
        a = r(r(r(s.x) @ q["weight_ih"].T) + r(r(s.h) @ q["weight_hh"].T))
        if cfg.bias:
            a = r(a + r(q["bias_ih"] + q["bias_hh"]))
        sigma, phi, psi = (cfg.activation(role) for role in ACTIVATION_ROLES)
        i, f, o = (r(activations.apply(sigma, a[:, k * H:(k + 1) * H])) for k in (0, 1, 3))
        g = r(activations.apply(phi, a[:, 2 * H:3 * H]))
        c_new = r(r(f * r(s.c)) + r(i * g))
        h_new = r(o * r(activations.apply(psi, c_new)))
        return (r(h_new @ q["weight_hr"].T) if cfg.proj_size else h_new), c_new
    return new_state


def rounded_per_operation(problem: Problem, got: dict, reference: dict, tol: Tolerance) -> Optional[str]:
    """'arithmetic rounded to float16 / bfloat16' when the reference with every operation
    rounded to that dtype deviates like the outputs do: they are within that dtype's tolerance
    of it, their largest deviation from the reference is within a factor 3 of its own, and
    they deviate in at least half the elements it moves out of tolerance (rounding moves
    nearly every value; a local defect does not). Rounding in another order cannot be matched
    to better than the dtype's spacing, so the evidence is the size and spread of the
    deviation, not equality. For the plain cell (no peepholes, clips, layer norm, own reverse
    activations, input_forget or forget_bias), in a problem wider than that dtype."""
    config = problem.config
    if (config.peepholes or config.input_forget or config.forget_bias or config.cell_clip is not None
            or config.state_clip is not None or config.proj_clip is not None or config.layer_norm
            or config.activations_reverse is not None):
        return None
    names = [n for n in OUTPUTS if n in got and n in reference and np.shape(got[n]) == np.shape(reference[n])]
    if not names or not all(np.isfinite(got[n]).all() for n in names):
        return None

    def largest(a: dict) -> float:
        return max(float(np.max(np.abs(a[n] - reference[n]), initial=0.0)) for n in names)

    def moved(a: dict) -> int:
        return sum(int(failing_mask(reference[n], a[n], tol).sum()) for n in names)

    best = None
    for dtype in ("float16", "bfloat16"):
        if _BITS[dtype] >= _BITS.get(problem.dtype, 0):
            continue
        model = forward_with(problem, _rounded_step(dtype))
        if any(failing_mask(model[n], got[n], tolerance_for(dtype)).any() for n in names):
            continue
        ratio = largest(got) / max(largest(model), 1e-300)
        if 1 / 3 <= ratio <= 3 and moved(got) >= 0.5 * moved(model) and (best is None or
                                                                         abs(np.log(ratio)) < best[0]):
            best = (abs(np.log(ratio)), dtype)
    return named("rounded-per-operation", dtype=best[1]) if best else None


def written_wrong(problem: Problem, got: dict, reference: dict, tol: Tolerance) -> Optional[str]:
    """y wrong while the recurrence is right: h_n, c_n (and c) agree, and either every wrong
    element of y was not carried (it is in a row's padding, or at the row's last step of its
    direction, or the next step of its direction agrees, which a wrong state would have
    changed), or y at a row's last step differs from h_n, which it is. y at step t is the state
    a direction hands to its next step (t + 1, or t − 1 in reverse) in every layout but
    padding: carry, where y past a row's length is a copy."""
    config = problem.config
    if config.padding == "carry" or "y" not in got or np.shape(got["y"]) != np.shape(reference["y"]):
        return None
    others = [n for n in ("h_n", "c_n", "c") if n in got and n in reference]
    if "h_n" not in others or any(np.shape(got[n]) != np.shape(reference[n])
                                  or failing_mask(reference[n], got[n], tol).any() for n in others):
        return None
    tm = to_time_major(config, failing_mask(reference["y"], got["y"], tol))  # (T, B, D·P)
    T, B, D = tm.shape[0], tm.shape[1], config.num_directions
    if not tm.any():
        return None
    lengths = np.full(B, T) if problem.lengths is None else np.asarray(problem.lengths)
    carried, at_last = False, False
    for d in range(D):
        wrong = tm[:, :, d * (tm.shape[2] // D):(d + 1) * (tm.shape[2] // D)].any(axis=2)  # (T, B)
        reverse = config.runs_reverse(d)
        for t, b in zip(*np.nonzero(wrong)):
            last = 0 if reverse else lengths[b] - 1
            if t >= lengths[b]:
                continue  # padding: nothing is carried from it
            if t == last:
                at_last = True
                continue
            carried |= bool(wrong[t - 1 if reverse else t + 1, b])
    if carried and not at_last:
        return None
    return named("output-written-wrong", output="y")


def _summary(where: dict, patterns: list, tried: bool = True) -> str:
    if patterns:
        non_finite = [f"{info['non_finite']} in {name}" for name, info in where.items() if info.get("non_finite")]
        return "reproduced by: " + " or ".join(patterns) + (
            f" (NaN/Inf where the reference is finite: {', '.join(non_finite)})" if non_finite else "")
    parts = []
    for name, info in where.items():
        if "first_step" in info:
            parts.append(f"{name} from step {info['first_step']} (rows {info['rows']}, units {info['units']})")
        elif "layers" in info:
            parts.append(f"{name} (layers {info['layers']}, rows {info['rows']}, units {info['units']})")
        elif "gate_blocks" in info:
            parts.append(f"{name} (gate blocks {', '.join(info['gate_blocks'])})")
        else:
            parts.append(name)
        if info.get("non_finite"):
            parts[-1] += f", {info['non_finite']} NaN/Inf where the reference is finite"
    text = "no known defect pattern reproduces it" if tried else "defect patterns not tried (problem too large)"
    if len(parts) > MAX_PLACES:  # a gradient failure can list dozens of arrays: the record's "where" has them all
        parts = parts[:MAX_PLACES - 1] + [f"and {len(parts) - MAX_PLACES + 1} more (the diagnosis' where lists them)"]
    return text + ("; deviates in " + "; ".join(parts) if parts else "")


# ----------------------------------------------------------------------------- gradients

def _gradient_where(name: str, expected: np.ndarray, got: np.ndarray, tol: Tolerance, problem: Problem) -> dict:
    mask = failing_mask(expected, got, tol) if expected.shape == got.shape else np.ones(expected.shape, bool)
    info = {"failing_elements": int(mask.sum()), "of": int(mask.size)}
    H = problem.config.hidden_size
    if name.startswith(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
        rows = np.nonzero(mask.reshape(mask.shape[0], -1).any(axis=1))[0]
        info["gate_blocks"] = [GATE_ORDER[b] for b in sorted({int(r) // H for r in rows})]
        info["units"] = compact(sorted({int(r) % H for r in rows}))
    elif name == "x" and mask.ndim >= 2:
        tm = to_time_major(problem.config, mask)  # (T, B, I)
        steps = np.nonzero(tm.any(axis=(1, 2)))[0]
        if steps.size:
            info.update(first_step=int(steps[0]), steps=compact(steps),
                        rows=compact(np.nonzero(tm.any(axis=(0, 2)))[0]),
                        units=compact(np.nonzero(tm.any(axis=(0, 1)))[0]))
    return info


def diagnose_gradients(run, upstream: dict, got_by_label: dict, expected_by_label: dict, comparisons: list) -> dict:
    """Where the gradients fail (array, upstream term, gate blocks, steps) and which upstream
    term an implementation ignores, when one does."""
    problem = run.problem
    where, failing_names = {}, set()
    for c in comparisons:
        if c["passed"]:
            continue
        name = c["output"].removeprefix("grad ")
        failing_names.add(name)
        exp, got = expected_by_label[c["upstream"]][name], got_by_label[c["upstream"]].get(name)
        if got is None:
            continue
        tol = gradient_tolerance(run.dtype, np.max(np.abs(exp)) if exp.size else 0.0)
        where[f"{name} (upstream {c['upstream']})"] = _gradient_where(name, exp, got, tol, problem)

    patterns = []
    for term in ("y", "h_n", "c_n"):
        if _ignores(run, term, upstream, got_by_label, expected_by_label, UPSTREAM_TERMS):
            patterns.append(named("upstream-term-ignored", term=term))
    steps = problem.seq_len * problem.config.num_layers * problem.config.num_directions
    if not patterns and steps <= MAX_STEPS_FOR_PATTERNS:
        patterns += _one_name_per_defect([name for name, model in _gradient_models(problem, upstream)
                                          if _reproduces_gradients(run, model, got_by_label, expected_by_label)])
    if not patterns:
        mapping = _gate_block_sources(run, got_by_label, expected_by_label, failing_names)
        if mapping:
            patterns.append(named("gradient-from-gate-block", mapping=mapping))
    from_forward = not patterns and _forward_defects(run)
    if from_forward:  # gradients of a wrong forward pass: the defect its outputs show
        patterns = from_forward
    all_names = set(expected_by_label["all"])
    if not patterns and failing_names and len(failing_names) <= len(all_names) // 2:
        # A few arrays wrong, the rest right: name them (and their gate blocks), the defect is local.
        parts = []
        for name in sorted(failing_names):
            blocks = sorted({b for k, info in where.items() if k.startswith(name + " ")
                             for b in info.get("gate_blocks", [])}, key=GATE_ORDER.index)
            parts.append(f"{name} (gate blocks {', '.join(blocks)})" if blocks else name)
        patterns.append(named("gradient-wrong-only-in", arrays=", ".join(parts)))
    summary = _summary(where, patterns)
    if from_forward:
        summary = summary.replace("reproduced by: ", "the forward outputs are wrong, reproduced by: ", 1) + \
            " (the gradients are those of that function)"
    return {"where": where, "patterns": [str(p) for p in patterns], "defects": _ids(patterns), "summary": summary}


def _forward_defects(run) -> list:
    """The defects named in the implementation's own forward outputs on the case, when they
    deviate from the reference (its gradients are then of another function: one defect, one
    group); [] when they agree or the forward run fails."""
    try:
        diagnosis = diagnose_runs(run, [])
    except Exception:  # noqa: BLE001 - the forward run's own failure is the forward check's to report
        return []
    if not diagnosis:
        return []
    return [Named(d, p) for d, p in zip(diagnosis["defects"], diagnosis["patterns"])]


def _gradient_models(problem: Problem, upstream: dict) -> Iterator[tuple[str, Callable[[tuple], dict]]]:
    """(name, gradients for the given upstream terms) of backward passes with a defect: the
    state path through h and c, h alone or c alone cut between steps (the reference's own
    backward with that path detached); the initial state, h0 or c0 ignored (taken as zeros)."""
    def backward(terms, h0=problem.h0, c0=problem.c0, detached=()):
        given = {f"grad_{k}": (upstream[k] if k in terms else None) for k in ("y", "h_n", "c_n")}
        return lstm_backward(problem.config, problem.x, problem.params, h0, c0, problem.lengths, detached=detached,
                             **given)

    paths = {("h", "c"): "the state (h and c)", ("h",): "h (c's path kept)", ("c",): "c (h's path kept)"}
    for detached, text in paths.items():
        yield named("state-path-detached", path=text), lambda terms, detached=detached: backward(
            terms, detached=detached)
    # the initial state (or one part) taken as zeros: the gradients of that function, none for it
    for ignored, defect in ((("h0", "c0"), "initial-state-ignored"), (("h0",), "h0-ignored"), (("c0",), "c0-ignored")):
        def without(terms, ignored=ignored):
            grads = backward(terms, h0=None if "h0" in ignored else problem.h0,
                             c0=None if "c0" in ignored else problem.c0)
            return {k: (np.zeros_like(v) if k in ignored else v) for k, v in grads.items()}
        yield named(defect), without


def _loose(dtype: str, *arrays) -> Tolerance:
    tol = gradient_tolerance(dtype, max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0))
    return Tolerance(tol.atol * MATCH_FACTOR, tol.rtol * MATCH_FACTOR)


def _reproduces_gradients(run, model: Callable, got_by_label: dict, expected_by_label: dict) -> bool:
    """The model's gradients match the implementation's for every upstream combination, and
    differ from the correct ones for some."""
    differs = False
    for label, expected in expected_by_label.items():
        modelled = model(UPSTREAM_TERMS[label])
        for name, want in expected.items():
            got = got_by_label[label].get(name)
            if got is None:
                continue
            if np.shape(got) != np.shape(modelled[name]) or failing_mask(modelled[name], got, _loose(
                    run.dtype, modelled[name])).any():
                return False
            tol = gradient_tolerance(run.dtype, float(np.max(np.abs(want))) if np.size(want) else 0.0)
            differs |= bool(failing_mask(want, modelled[name], tol).any())
    return differs


def _gate_block_sources(run, got_by_label: dict, expected_by_label: dict, failing: set) -> str:
    """Where every failing gradient of a (4H, ·) parameter is the correct gradient with some
    gate blocks replaced by copies of other blocks (the same for every upstream combination),
    and every other gradient is right: 'bias_hh, bias_ih: blocks i and o from f'; ''
    otherwise."""
    H = run.problem.config.hidden_size
    if not failing or not all(name.startswith(GATED_ARRAYS) for name in failing):
        return ""
    sources_of = {}
    for name in sorted(failing):
        mapping = None
        for label, expected in expected_by_label.items():
            got = got_by_label[label].get(name)
            if got is None or np.shape(got) != np.shape(expected[name]):
                return ""
            want = expected[name].reshape((4, H) + expected[name].shape[1:])
            have = got.reshape(want.shape)
            tol = _loose(run.dtype, want)
            found = []
            for k in range(4):
                # the block itself when it matches, else the first block it is a copy of
                candidates = [k] + [j for j in range(4) if j != k]
                found.append(next((j for j in candidates if not failing_mask(want[j], have[k], tol).any()), None))
            if None in found or (mapping is not None and found != mapping):
                return ""
            mapping = found
        if all(j == k for k, j in enumerate(mapping)):
            return ""
        sources_of[name] = tuple(mapping)
    parts = {}
    for name, mapping in sources_of.items():
        moved = {}
        for k, j in enumerate(mapping):
            if j != k:
                moved.setdefault(j, []).append(GATE_ORDER[k])
        text = "; ".join(f"block{'s' if len(ks) > 1 else ''} {' and '.join(ks)} from {GATE_ORDER[j]}"
                         for j, ks in sorted(moved.items()))
        kind = re.sub(r"_l\d+(_reverse)?$", "", name)  # the same in every layer and direction: said once
        if kind not in parts.setdefault(text, []):
            parts[text].append(kind)
    return "; ".join(f"{', '.join(kinds)}: {text}" for text, kinds in parts.items())


def _ids(patterns: list) -> list[str]:
    """The registry ids of the defects named (defects.py)."""
    return [p.defect_id for p in patterns]


def _ignores(run, term: str, upstream: dict, got_by_label: dict, expected_by_label: dict, upstreams: dict) -> bool:
    """The gradients equal the reference's for the upstream terms without `term`, for every
    upstream combination, and that differs from the correct gradients for some combination."""
    distinguishable = False
    for label, terms in upstreams.items():
        kept = [t for t in terms if t != term]
        expected = expected_by_label[label]
        if kept:
            parts = [run.cache.gradients(run.problem, t, upstream) for t in kept]
            without = {n: sum(p[n] for p in parts) for n in expected}
        else:
            without = {n: np.zeros_like(v) for n, v in expected.items()}
        for name, value in without.items():
            got = got_by_label[label].get(name)
            if got is None:
                return False
            tol = gradient_tolerance(run.dtype, max(np.max(np.abs(value)) if value.size else 0.0,
                                                    np.max(np.abs(expected[name])) if value.size else 0.0))
            loose = Tolerance(tol.atol * MATCH_FACTOR, tol.rtol * MATCH_FACTOR)
            if failing_mask(value, got, loose).any():
                return False
            distinguishable |= bool(failing_mask(expected[name], value, tol).any())
    return distinguishable


# ----------------------------------------------------------------------------- the other checks

def attach(record: dict, diagnosis: Optional[dict]) -> None:
    """Put a diagnosis on a failed record and its summary at the end of the message."""
    if diagnosis:
        record["diagnosis"] = diagnosis
        record["message"] += f" — diagnosis: {diagnosis['summary']}"


def _verdict(patterns: list, where: Optional[dict] = None) -> dict:
    return {"where": where or {}, "patterns": [str(p) for p in patterns], "defects": _ids(patterns),
            "summary": _summary(where or {}, patterns)}


def diagnose_outputs(run) -> dict:
    """diagnose_forward of the case's own run, computed once per run: the forward check and
    the others that meet its deviation ask for it."""
    if getattr(run, "_diagnosis_of_outputs", None) is None:
        run._diagnosis_of_outputs = diagnose_forward(run.problem, run.outputs, run.reference, tolerance_for(run.dtype))
    return run._diagnosis_of_outputs


def diagnose_runs(run, derived: list) -> Optional[dict]:
    """A consistency check (state chaining, batch independence, strided inputs, padding)
    failed: the implementation's runs on problems derived from the case disagree. Each run
    that deviates from the reference on its own problem, the case's first, then the derived
    (problem, outputs) pairs, is diagnosed as the forward check would; the first diagnosis
    that names a defect is the record's (so one defect is one group in the summary, whichever
    check met it), else the first diagnosis; None when every run agrees with the reference."""
    tol = tolerance_for(run.dtype)
    first = None
    for problem, got in [(run.problem, run.outputs)] + list(derived):
        reference = run.cache.get(problem)
        names = [n for n in OUTPUTS if n in got and n in reference]
        if not any(np.shape(got[n]) != np.shape(reference[n]) or failing_mask(reference[n], got[n], tol).any()
                   for n in names):
            continue
        diagnosis = diagnose_outputs(run) if problem is run.problem else diagnose_forward(problem, got, reference, tol)
        if diagnosis["patterns"]:
            return diagnosis
        first = first or diagnosis
    return first


def diagnose_repeated_runs(first: dict, again: list, dtype: str) -> Optional[dict]:
    """Runs of the same inputs differ: noise, when every value is finite and every difference
    is small next to its output's scale (at most 10⁻⁶ of its largest |value|): an unordered
    reduction or a race, not a run that went another way."""
    count, total, spread, spread_ulp = 0, 0, 0.0, 0.0
    for other in again:
        for name in sorted(set(first) & set(other)):
            a, b = np.asarray(first[name], np.float64), np.asarray(other[name], np.float64)
            if a.shape != b.shape or not (np.isfinite(a).all() and np.isfinite(b).all()):
                return None
            differ = a != b
            if not differ.any():
                continue
            diff = np.abs(a - b)[differ]
            if diff.max() > 1e-6 * float(np.max(np.abs(a))):
                return None
            count, total = count + int(differ.sum()), total + a.size
            spread = max(spread, float(diff.max()))
            spread_ulp = max(spread_ulp, float(np.max(diff / ulp(a[differ], dtype))))
    if not count:
        return None
    where = {"runs": {"differing_values": count, "of": total, "max_abs": spread, "max_ulp": spread_ulp}}
    return _verdict([named("runs-differ-by-noise")], where)


def diagnose_output_dtypes(problem: Problem, outputs: dict, output_dtypes: dict, reference: dict) -> Optional[dict]:
    """Outputs of a wider dtype than the inputs' whose values match the reference within the
    wider dtype's tolerance while they are not all numbers of the inputs' dtype: computed in
    the wider dtype and returned without the cast back."""
    wider = {d for d in output_dtypes.values() if d != problem.dtype}
    if len(wider) != 1:
        return None
    got = next(iter(wider))
    if _BITS.get(got, 0) <= _BITS.get(problem.dtype, 64):
        return None
    names = [n for n in OUTPUTS if n in outputs and n in reference]
    tol = tolerance_for(got)
    if not names or any(np.shape(outputs[n]) != np.shape(reference[n]) or failing_mask(reference[n], outputs[n], tol)
                        .any() for n in names):
        return None
    values = np.concatenate([np.ravel(outputs[n]) for n in names])
    if (round_to_dtype(values, problem.dtype) == values).all():
        return None  # numbers of the inputs' dtype: only the container is wider
    return _verdict([named("outputs-upcast", got=got, dtype=problem.dtype)])


def diagnose_accepted_inputs(accepted: list, dtype: str, empty_answer: Callable) -> Optional[dict]:
    """Invalid inputs an implementation returned outputs for, as (problem, outputs) pairs:
    what it computed instead of raising. T = 0 answered with a zero state (the accepted
    answer, `empty_answer(problem)`, of the problem without its initial state), an h0 too
    wide truncated to its configured units (the reference on that h0), x in another dtype
    converted (the reference on x's values)."""
    tol = tolerance_for(dtype)
    patterns = []

    def matches(model: Optional[dict], got: dict, correct: Optional[dict] = None) -> bool:
        if model is None:
            return False
        names = [n for n in OUTPUTS if n in got and n in model]
        if not names or any(np.shape(got[n]) != np.shape(model[n]) or failing_mask(model[n], got[n], tol).any()
                            for n in names):
            return False
        return correct is None or any(np.shape(correct[n]) != np.shape(model[n])
                                      or failing_mask(correct[n], model[n], tol).any() for n in names if n in correct)

    for problem, got in accepted:
        config = problem.config
        if problem.seq_len == 0 and (problem.h0 is not None or problem.c0 is not None):
            stateless = dataclasses.replace(problem, h0=None, c0=None)
            if matches(empty_answer(stateless), got, empty_answer(problem)):
                patterns.append(named("empty-sequence-zero-state"))
        elif problem.h0 is not None and problem.h0.shape[-1] > config.output_size:
            try:
                model = _reference(problem, h0=problem.h0[..., :config.output_size])
            except ValueError:
                continue
            if matches(model, got):
                patterns.append(named("h0-truncated"))
        elif problem.array_dtypes.get("x", dtype) != dtype:
            try:
                model = _reference(problem)
            except ValueError:
                continue
            if matches(model, got):
                patterns.append(named("mixed-dtypes-converted"))
    return _verdict(patterns) if patterns else None
