"""The forward defect models of a problem (forward_variants): the options' (options.py), the
listed ones below, then the searched ones (searched.py)."""
from __future__ import annotations

import itertools
from typing import Callable, Iterator

import numpy as np

from ..defects import named
from ..reference.forward import from_time_major, state_from_batched, to_time_major
from ..spec.model import Activation, Problem, padding_mask
from .options import option_variants
from .rerun import _cell_output, _reference, forward_with, gate_order_name, layer_by_layer, permute_gates
from .searched import defect_models


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


def _reverse_half_in_processing_order(config, y: np.ndarray, c: np.ndarray) -> tuple:
    """Copies of time-major y and c whose reverse-direction half is stored in the order the
    steps ran (T-1 first), not re-aligned in time."""
    y, c = y.copy(), c.copy()
    y[:, :, config.output_size:] = y[::-1, :, config.output_size:].copy()
    c[:, :, config.hidden_size:] = c[::-1, :, config.hidden_size:].copy()
    return y, c


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
    if config.bidirectional and problem.lengths is None:
        if config.num_layers == 1:  # the recurrence is right: the reference's outputs, misaligned
            def reverse_misaligned():
                y, c = _reverse_half_in_processing_order(
                    config, to_time_major(config, reference["y"]), to_time_major(config, reference["c"]))
                return dict(reference, y=from_time_major(config, y), c=from_time_major(config, c))
        else:  # each layer's misaligned y feeds the next
            def reverse_misaligned():
                return layer_by_layer(problem, _reverse_half_in_processing_order)
        yield named("reverse-not-realigned"), reverse_misaligned
    if config.bidirectional:  # the two directions assembled in the wrong order (after a correct recurrence)
        def y_halves_swapped():
            P = config.output_size
            return dict(reference, y=np.concatenate([reference["y"][..., P:], reference["y"][..., :P]], axis=-1))

        def state_slices_swapped():
            order = [layer * 2 + (1 - d) for layer in range(config.num_layers) for d in range(2)]
            return dict(reference, h_n=reference["h_n"][order], c_n=reference["c_n"][order])
        yield named("directions-swapped-in-y"), y_halves_swapped
        yield named("directions-swapped-in-final-state"), state_slices_swapped
    if config.bidirectional and config.num_layers >= 2:
        # a layer above 0 reading [reverse, forward] of the layer below computes what the correct
        # stack computes with the two column halves of its weight_ih swapped
        P = config.output_size

        def halves_swapped(name, value):
            above_layer_0 = name.startswith("weight_ih_l") and not name.startswith("weight_ih_l0")
            return np.concatenate([value[:, P:], value[:, :P]], axis=1) if above_layer_0 else value
        yield named("directions-swapped-between-layers"), lambda: _reference(
            problem, params={k: halves_swapped(k, v) for k, v in problem.params.items()})
    yield from _strides_ignored(problem)
    yield from defect_models(problem, reference)  # last: the listed patterns come first when several match


def _one_name_per_defect(patterns: list) -> list:
    """Where a gate-block swap in every array reproduces the outputs, the same swap confined to
    one kind of array (which the case cannot tell apart from it) is not named too."""
    ids = {p.defect_id for p in patterns}
    if "gate-blocks-swapped" in ids:
        patterns = [p for p in patterns if p.defect_id != "gate-blocks-swapped-in"]
    return patterns
