"""Run profiles (`run --profile NAME`): how much of the selection a run does.

full   every selected case with every check that applies (the default).
quick  bounded sizes, every feature still reached:
       - cases: those within QUICK_BOUNDS (steps, width, rows, layers); a case over a bound
         runs only when it carries a trait (planning.case_traits: a feature, a non-standard
         activation, a group) that no case within the bounds carries, the cheapest such first;
       - checks: forward runs on every case kept, and the errors check on every expect_error
         case (it is their only check); every other check, each of which calls the
         implementation again on derived or repeated problems, runs on a subset of the kept
         cases it applies to that together carry every trait those cases carry, chosen per
         implementation among the cases its capabilities declare it supports (a subset of
         cases it does not run would test nothing); on a case it does not support, every
         check runs (each is `unsupported` at no cost);
       - dtypes: on a case with several dtypes, the checks other than forward and dtypes run in
         one, float64 where the implementation declares it (the extra float16/bfloat16 runs of
         the dtypes check stay where that check runs).
       What is left out is recorded, never dropped: each left-out check of each unit is a
       `skipped` record whose message starts "not run (--profile quick)" and says why.

A Plan is plain data ((implementation, case id) -> the checks that run), so `run -j N` workers take it as is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..checks import select_checks
from ..spec.model import ACTIVATION_ROLES
from .planning import case_cost, case_traits, greedy_cover

PROFILES = ("full", "quick")
QUICK_BOUNDS = {"seq_len": 64, "width": 64, "batch": 8, "layers": 2}  # width: input_size and hidden_size

_TAG = "not run (--profile quick)"
EVERY_DTYPE = ("forward", "dtypes")  # checks the quick profile runs in each dtype of a case (about the dtype)


@dataclass(frozen=True)
class Plan:
    """Which checks run on which case, per implementation; the reasons for what does not."""

    name: str
    runs: dict  # (implementation name, case id) -> frozenset of the check names that run
    reasons: dict  # (implementation name, check name) -> why it does not run on the other cases; "" -> case
    # (implementation name, case id) -> the one dtype of the case's own in which its checks other
    # than EVERY_DTYPE's run (absent: every dtype)
    dtype_of: dict = None

    def keep(self, unit):
        """The unit with only the checks that run (None when none does)."""
        left = self.left_out(unit)
        kept = tuple(c for c in unit.checks if c.name not in left)
        if not kept:
            return None
        return unit if len(kept) == len(unit.checks) else type(unit)(unit.case, unit.dtype, unit.adapter, kept)

    def left_out(self, unit) -> dict:
        """{check name: reason} for the unit's checks that do not run."""
        key = (unit.adapter.name, unit.case.id)
        runs = self.runs.get(key)
        if runs is None:
            return {c.name: self.reasons[""] for c in unit.checks}
        out = {c.name: self.reasons[(unit.adapter.name, c.name)] for c in unit.checks if c.name not in runs}
        one = (self.dtype_of or {}).get(key)
        if one and unit.dtype != one and unit.dtype in unit.case.dtypes:  # not the extra half-precision runs
            out.update({c.name: f"{_TAG}: on this case the checks besides forward and dtypes run in {one} only"
                        for c in unit.checks if c.name not in EVERY_DTYPE and c.name not in out})
        return out


def within_bounds(case) -> bool:
    shape = case.shape
    try:
        layers = case.config.num_layers
    except Exception:  # an expect_error case whose configuration does not build: one tiny call
        layers = 1
    return (shape["seq_len"] <= QUICK_BOUNDS["seq_len"] and shape["batch"] <= QUICK_BOUNDS["batch"]
            and max(shape["input_size"], shape["hidden_size"]) <= QUICK_BOUNDS["width"]
            and layers <= QUICK_BOUNDS["layers"])


def declares_support(adapter, case) -> bool:
    """Whether the adapter's declared capabilities cover the case (adapter.unsupported_by's
    rules, read from the case as written): a repeated check chosen for a case the adapter does
    not run would test nothing. True when the capabilities cannot be read (the run says why)."""
    try:
        if adapter.skip_reason():
            return True
        caps = adapter.capabilities()
    except Exception:
        return True
    if not set(case.dtypes) & set(caps.dtypes):
        return False
    if case.expect_error is not None:
        return True
    features = {t.split(":", 1)[1] for t in case_traits(case) if t.startswith("feature:")}
    if not features <= set(caps.features):
        return False
    if caps.activations is not None:
        config = case.config
        for direction in range(config.num_directions):
            for role in ACTIVATION_ROLES:
                act = config.activation(role, direction)
                if act.name not in caps.activations.get(role, ()) or (act.alpha, act.beta) != (None, None):
                    return False
    return True


def quick_plan(cases, checks=None, adapters=()) -> Plan:
    """The quick profile's plan for these cases, checks (names; default: all) and adapters.
    The subsets are chosen per adapter among the cases it declares it supports; on a case it
    does not support every check runs (each says `unsupported` without calling it)."""
    cases = list(cases)
    selected = select_checks(checks)
    small = [c for c in cases if within_bounds(c)]
    reached = set().union(*(case_traits(c) for c in small))
    large = sorted((c for c in cases if not within_bounds(c)), key=case_cost)
    kept_ids = {c.id for c in small} | {c.id for c in greedy_cover(large, case_traits, case_cost, reached)}
    kept = [c for c in cases if c.id in kept_ids]
    b = QUICK_BOUNDS
    runs: dict = {}
    dtype_of: dict = {}
    reasons = {"": f"{_TAG}: over the quick bounds ({b['seq_len']} steps, width {b['width']}, {b['batch']} rows, "
                   f"{b['layers']} layers) and its features are reached by smaller cases"}
    for adapter in adapters:
        supported = [c for c in kept if declares_support(adapter, c)]
        supported_ids = {c.id for c in supported}
        for case in kept:
            runs[(adapter.name, case.id)] = set() if case.id in supported_ids else {c.name for c in selected}
            if case.id in supported_ids and case.expect_error is None:
                dtype_of[(adapter.name, case.id)] = _repeat_dtype(adapter, case)
        for check in selected:
            applicable = [c for c in supported if check.applies(c)]
            if check.name == "forward":
                chosen = applicable
            elif check.name == "errors":
                chosen = [c for c in applicable if c.expect_error is not None]
                chosen += greedy_cover([c for c in applicable if c.expect_error is None], case_traits, case_cost)
            else:
                chosen = greedy_cover(applicable, case_traits, case_cost)
            for case in chosen:
                runs[(adapter.name, case.id)].add(check.name)
            reasons[(adapter.name, check.name)] = (
                f"{_TAG}: the {check.name} check runs on {len(chosen)} of the {len(applicable)} cases kept that it "
                f"applies to and {adapter.name} declares it supports, which together reach every feature, "
                "activation and group of those cases")
    return Plan("quick", {key: frozenset(names) for key, names in runs.items()}, reasons, dtype_of)


def _repeat_dtype(adapter, case) -> str:
    """The dtype of the case in which the quick profile runs its checks other than EVERY_DTYPE's:
    float64 where the adapter declares it (the tightest tolerances: a defect of 1e-9 shows,
    and a repeated run's bit-level spread is not rounded away), else the first it declares."""
    try:
        declared = set(adapter.capabilities().dtypes)
    except Exception:
        declared = set(case.dtypes)
    own = [d for d in case.dtypes if d in declared] or list(case.dtypes)
    return "float64" if "float64" in own else own[0]


def plan_for(profile: Optional[str], cases, checks=None, adapters=()) -> Optional[Plan]:
    """The plan of a profile (None for the full profile: everything runs)."""
    if profile in (None, "full"):
        return None
    if profile == "quick":
        return quick_plan(cases, checks, adapters)
    raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
