"""The reference re-run with a defect built in: changed inputs, parameters or options
(_reference), gate blocks permuted, or each step's result replaced through the reference's own
loop (forward_with), so that only the defect differs."""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from ..defects import named
from ..reference import activations, lstm_forward
from ..reference.forward import (StepHooks, clip, from_time_major, run_stack, state_from_batched,
                                 state_to_batched, to_time_major)
from ..spec.model import GATE_ORDER, Problem


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


def layer_by_layer(problem: Problem, between: Callable) -> dict:
    """The reference run one layer at a time, each layer's time-major outputs passed through
    between(config, y, c) -> (y, c) before the next layer reads y (and, after the last layer,
    before they are returned): a defect in how a stack hands a layer's outputs on. Each layer
    is lstm_forward on a one-layer time-major configuration, with that layer's parameters and
    state slices, so only the defect differs."""
    config = problem.config
    D = config.num_directions
    layer_in = to_time_major(config, problem.x)
    h0, c0 = state_to_batched(config, problem.h0), state_to_batched(config, problem.c0)
    one = dataclasses.replace(config, num_layers=1, batch_first=False, unbatched=False)
    h_n, c_n = [], []
    for layer in range(config.num_layers):
        sfx = f"_l{layer}"
        params = {k.replace(sfx, "_l0", 1): v for k, v in problem.params.items() if k.endswith((sfx, sfx + "_reverse"))}
        rows = slice(layer * D, (layer + 1) * D)
        out = lstm_forward(dataclasses.replace(one, input_size=layer_in.shape[-1]), layer_in, params,
                           None if h0 is None else h0[rows], None if c0 is None else c0[rows], problem.lengths)
        y, c = between(config, out.y, out.c)
        h_n.append(out.h_n)
        c_n.append(out.c_n)
        layer_in = y
    return {"y": from_time_major(config, y), "c": from_time_major(config, c),
            "h_n": state_from_batched(config, np.concatenate(h_n)), "c_n": state_from_batched(config, np.concatenate(c_n))}
