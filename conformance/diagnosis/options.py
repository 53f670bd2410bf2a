"""Forward defect models of the case's options: "X ignored" (an option at its default) and
the known partial forms of an option (the cell clip applied in part, ONNX alpha read by
position)."""
from __future__ import annotations

from typing import Callable, Iterator, Optional

import numpy as np

from ..defects import named
from ..reference.layouts.onnx import activations_from_onnx, activations_to_onnx, config_activations
from ..spec.model import ACTIVATION_ROLES, STANDARD_ACTIVATIONS, Activation, Problem
from .rerun import _psi_output, _reference, forward_with


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
