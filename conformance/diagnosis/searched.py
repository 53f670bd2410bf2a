"""Forward defect models searched systematically: a gate swap confined to one array, each
gate forced to 1 or 0, σ overflowing, each activation computed as each other one, a direction
started a step late or early, outputs with their axes swapped."""
from __future__ import annotations

import itertools
from typing import Callable, Iterator, Optional

import numpy as np

from ..defects import named
from ..reference.forward import clip, from_time_major, state_from_batched, state_to_batched, to_time_major
from ..spec.model import ACTIVATION_NAMES, ACTIVATION_ROLES, GATE_ORDER, STANDARD_ACTIVATIONS, Activation, Problem
from .rerun import _cell_output, _psi_output, _reference, forward_with, permute_gates


def defect_models(problem: Problem, reference: Optional[dict] = None) -> Iterator[tuple[str, Callable[[], dict]]]:
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
    correct = _correct(problem, reference)
    yield from _step_order_models(problem, correct)
    yield from _layout_models(problem, correct)
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


def _correct(problem: Problem, reference: Optional[dict]) -> Callable[[], dict]:
    """The reference's outputs on the problem: `reference` when given, else computed once."""
    computed = {"full": reference} if reference is not None else {}

    def correct() -> dict:
        if "full" not in computed:
            computed["full"] = _reference(problem)
        return computed["full"]
    return correct


def _step_order_models(problem: Problem, correct: Callable[[], dict]) -> Iterator[tuple[str, Callable[[], dict]]]:
    """A direction's loop over time started one step late (its first step skipped, its output
    there zero) or one step early (step t reading x at t ∓ 1, so its first step's x is computed
    twice): for one layer without lengths, in each direction of the case."""
    config, T = problem.config, problem.seq_len
    if config.num_layers != 1 or problem.lengths is not None or T < 2:
        return
    ax = config.time_axis
    D = config.num_directions

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


def _layout_models(problem: Problem, correct: Callable[[], dict]) -> Iterator[tuple[str, Callable[[], dict]]]:
    """y and c returned with the time and batch axes swapped (batch-major for a time-major
    case, or the reverse); h_n and c_n with the batch axis first."""
    config = problem.config
    if config.unbatched:
        return
    layouts = ("time-major (T, B, ·)", "batch-major (B, T, ·)")
    got, spec = layouts[::-1] if not config.batch_first else layouts

    def swapped(names):
        out = correct()
        return {k: (np.swapaxes(v, 0, 1) if k in names else v) for k, v in out.items()}
    yield named("outputs-axes-swapped", outputs="y and c", got=got, spec=spec), lambda: swapped(("y", "c"))
    yield (named("outputs-axes-swapped", outputs="h_n and c_n", got="(B, L·D, ·)", spec="(L·D, B, ·)"),
           lambda: swapped(("h_n", "c_n")))
