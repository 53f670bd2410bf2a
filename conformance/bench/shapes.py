"""Benchmark shapes: descriptors such as t100b32i256h256 or t50b8i64h64l2bip16, as spec cases."""
from __future__ import annotations

import re

from ..spec.loader import CaseSpec

SHAPE_PATTERN = re.compile(r"^t(\d+)b(\d+)i(\d+)h(\d+)(?:l(\d+))?(bi)?(?:p(\d+))?$")


def parse_shape(descriptor: str) -> CaseSpec:
    """A benchmark problem from a descriptor such as t100b32i256h256 or t50b8i64h64l2bip16."""
    match = SHAPE_PATTERN.match(descriptor)
    if not match:
        raise ValueError(f"shape {descriptor!r}: expected t<T>b<B>i<I>h<H>[l<layers>][bi][p<proj>], e.g. t100b32i256h256")
    T, B, I, H, layers, bi, proj = match.groups()
    options = {"num_layers": int(layers or 1), "bidirectional": bool(bi), "proj_size": int(proj or 0)}
    return CaseSpec(id=descriptor, about="benchmark shape", group="bench", file="<benchmark>",
                    shape={"seq_len": int(T), "batch": int(B), "input_size": int(I), "hidden_size": int(H)},
                    options=options, seed=0,
                    inputs={"h0": {"uniform": [-1, 1]}, "c0": {"uniform": [-1, 1]}})


def y_shape(problem) -> tuple[int, ...]:
    """Shape of y for a problem (x's shape with the last axis D·(P or H))."""
    cfg = problem.config
    return problem.x.shape[:-1] + (cfg.num_directions * cfg.output_size,)


def batch_sweep(shapes: list[str], sizes) -> list[str]:
    """Shapes to add so that the time-against-batch plot has data: the first shape at each
    batch size, unless two shapes already differ only in batch size."""
    if not sizes or not shapes:
        return []
    parsed = [SHAPE_PATTERN.match(s) for s in shapes]
    without_batch = [(m.group(1),) + m.groups()[2:] for m in parsed if m]
    if len(set(without_batch)) < len(without_batch):
        return []  # some shapes already differ only in batch size
    first = parsed[0]
    if first is None:
        return []
    head, tail = shapes[0][:first.start(2) - 1], shapes[0][first.end(2):]
    return [f"{head}b{b}{tail}" for b in sizes if f"{head}b{b}{tail}" not in shapes]
