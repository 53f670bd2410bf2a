"""What covers every feature at the least cost: the shared arithmetic of `--profile quick`
(profiles.py) and `--budget` (time_budget.py).

A case's traits are what a run should reach at least once: each optional feature it uses
(the names of Capabilities.features), each activation that is not the standard one, its
group, and whether it is an expect_error case. Its cost is an estimate of the work an
adapter does for one call on it: a fixed part per call, and per time step of every layer and
direction (an interpreted kernel or a per-call framework pays per step) a fixed part plus the
arithmetic. A unit's cost multiplies that by how
many times its checks call the implementation. The estimates only order and choose cases;
they never change a verdict.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence, TypeVar

from ..spec.model import ACTIVATION_ROLES, STANDARD_ACTIVATIONS

T = TypeVar("T")

# About how many calls of the implementation each check makes on one case (derived problems,
# re-runs, rows run alone); the training-parity check trains 300 steps forward and backward.
CALLS = {"forward": 1, "errors": 8, "gradients": 4, "state-chaining": 2, "batch-independence": 4,
         "padding-invariance": 3, "determinism": 2, "strided": 1, "dtypes": 1, "training-parity": 600}


def case_traits(case) -> frozenset:
    """What the case adds to a run's coverage (see the module docstring)."""
    traits = {f"group:{case.group}"}
    if case.expect_error is not None:
        return frozenset(traits | {"expect_error"})
    config = case.config
    traits |= {f"feature:{name}" for name in config.features()}
    if "h0" in case.inputs or "c0" in case.inputs:
        traits.add("feature:initial_state")
    if "lengths" in case.inputs:
        traits.add("feature:variable_lengths")
    for role, activation in zip(ACTIVATION_ROLES, config.activations):
        if activation.name != STANDARD_ACTIVATIONS[role].name:
            traits.add(f"activation:{role}:{activation.name}")
    return frozenset(traits)


def case_cost(case) -> float:
    """Estimated work of one forward call on the case (arbitrary units, monotone in every size)."""
    shape = case.shape
    try:
        config = case.config
        layers, directions = config.num_layers, 2 if config.bidirectional else 1
    except Exception:  # an expect_error case may have a configuration that does not build
        layers, directions = 1, 1
    steps = max(shape.get("seq_len", 1), 1) * layers * directions
    width = shape.get("input_size", 1) + shape.get("hidden_size", 1)
    arithmetic = max(shape.get("batch", 1), 1) * 4 * shape.get("hidden_size", 1) * width
    # A call costs about 20 steps (conversions, launches); a step about 64K multiply-adds (an
    # interpreted loop or a framework op per step: tens of microseconds).
    return 20.0 + steps * (1.0 + arithmetic / 65536.0)


def unit_cost(unit) -> float:
    """Estimated work of a runner unit: its case's cost times the calls its checks make."""
    return case_cost(unit.case) * sum(CALLS.get(check.name, 2) for check in unit.checks)


def greedy_cover(items: Sequence[T], traits: Callable[[T], Iterable], cost: Callable[[T], float],
                 covered: Iterable = ()) -> list[T]:
    """Items that together carry every trait any item carries (beyond `covered`), chosen greedily
    by new traits per unit of cost; ties go to the earlier item. In the order chosen."""
    covered = set(covered)
    # each item's cost once: the loop below scores every remaining item once per item chosen
    remaining = [(index, item, set(traits(item)) - covered, max(cost(item), 1e-9)) for index, item in enumerate(items)]
    chosen = []
    while True:
        best = None
        for index, item, new, item_cost in remaining:
            new -= covered
            if new:
                score = len(new) / item_cost
                if best is None or score > best[0]:
                    best = (score, index, item, new)
        if best is None:
            return chosen
        _, index, item, new = best
        chosen.append(item)
        covered |= new
        remaining = [r for r in remaining if r[0] != index]


def coverage_first(units: Sequence[T]) -> list[T]:
    """The units in the order a run with a time budget takes them: first a cheap set that
    reaches every trait of every case, every check and every dtype on every implementation,
    then the rest cheapest first (ties: the original order)."""
    def traits(unit):
        own = set(case_traits(unit.case)) | {f"dtype:{unit.dtype}"} | {f"check:{c.name}" for c in unit.checks}
        return {(unit.adapter.name, trait) for trait in own}

    first = greedy_cover(units, traits, unit_cost)
    chosen = {id(u) for u in first}
    rest = sorted((u for u in units if id(u) not in chosen), key=unit_cost)  # sorted() is stable
    return first + rest
