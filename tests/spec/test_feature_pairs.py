"""Every two features a real implementation supports meet in some case it can run.

A library whose stacked bidirectional cases all have a projection or peepholes never runs an
nn.LSTM-like implementation without them on two bidirectional layers; a defect in how its upper
layers read the lower one's directions then passes everything (it did, until the library had
bidirectional-multi-layer). So for each built-in adapter's declared capabilities, the cases it
can run (its own unsupported_reason, on the materialized problem) must together combine every
pair of its features, the non-standard activations it accepts counting as one feature.

The pure-NumPy implementation is left out: it implements every option of the spec, including
framework-specific ones (TF's state clip, TFLite's layer norm) that no real implementation
combines; each of those has cases of its own. So is cuda (below)."""
import importlib
import itertools

import pytest

from lstm_conformance.adapter import STANDARD_ONLY
from lstm_conformance.harness.survey import case_features
from lstm_conformance.implementations import BUILTIN
from lstm_conformance.spec.materialize import materialize

# Pairs that no case can hold: batch_first means nothing without a batch axis, lengths are one
# per batch row, and a single reverse direction excludes the two of bidirectional (its
# per-direction activations included).
NOT_COMBINABLE = {
    frozenset({"batch_first", "unbatched"}), frozenset({"unbatched", "variable_lengths"}),
    frozenset({"unbatched", "padding_carry"}), frozenset({"bidirectional", "reverse"}),
    frozenset({"direction_activations", "reverse"}),
}
# Pairs an implementation cannot combine by its own design, with why.
CANNOT_COMBINE = {
    "keras": {frozenset({"bidirectional", "padding_carry"}): "Keras's Bidirectional zeroes masked outputs "
              "(force_zero_output_for_mask), so a masked bidirectional LSTM never carries"},
}
# cuda is torch-lstm's nn.LSTM on a GPU, with its features; its unsupported_reason asks the
# driver on every call (2 s over the library here).
ADAPTERS = sorted(name for name in BUILTIN if name not in ("numpy", "cuda"))


def adapter(name):
    module, cls = BUILTIN[name].split(":")
    return getattr(importlib.import_module(module), cls)()  # capabilities only: no framework is imported


def declared_features(instance) -> set:
    caps = instance.capabilities()
    features = set(caps.features)
    if caps.activations is None or any(set(caps.activations.get(role, ())) - names for role, names in STANDARD_ONLY.items()):
        features.add("activations")
    return features


class Problems(dict):
    """dtype -> the case's problem in it, materialized on first use."""

    def __init__(self, case):
        super().__init__()
        self.case = case

    def __missing__(self, dtype):
        self[dtype] = materialize(self.case, dtype)
        return self[dtype]


@pytest.fixture(scope="module")
def runnable_cases(library):
    """(case, its features, its problems by dtype) for every valid case."""
    return [(case, set(case_features(case)), Problems(case)) for case in library if case.expect_error is None]


def uncombined_pairs(instance, runnable_cases, excused=frozenset()) -> list:
    features = declared_features(instance)
    dtypes = instance.capabilities().dtypes
    met = set()
    for case, used, problems in runnable_cases:
        dtype = next((d for d in case.dtypes if d in dtypes), None)
        if dtype is not None and used <= features and instance.unsupported_reason(problems[dtype]) is None:
            met |= {frozenset(pair) for pair in itertools.combinations(sorted(used), 2)}
    wanted = {frozenset(pair) for pair in itertools.combinations(sorted(features), 2)} - NOT_COMBINABLE - excused
    return sorted(tuple(sorted(pair)) for pair in wanted - met)


@pytest.mark.parametrize("name", ADAPTERS)
def test_every_pair_of_an_implementations_features_meets_in_a_case_it_runs(runnable_cases, name):
    excused = frozenset(CANNOT_COMBINE.get(name.split("-")[0], {}))  # keras-jax etc. are Keras's LSTM too
    missing = uncombined_pairs(adapter(name), runnable_cases, excused)
    assert not missing, (f"{name} declares these pairs of features, and no case it runs combines them: {missing}. "
                         "Add a case that does (spec/README.md), or, if the implementation cannot combine them by "
                         "design, list the pair in CANNOT_COMBINE with why.")


def test_a_library_without_the_plain_stacked_bilstm_fails_the_guard(runnable_cases):
    # not vacuous: without the stacked bidirectional cases that lack projection and peepholes,
    # Flax's LSTM (no projection, no peepholes) never meets two bidirectional layers
    plain_stacked = {"bidirectional-multi-layer", "batch-first-bidirectional-multi-layer",
                     "lengths-bidirectional-multi-layer", "act-bidirectional-multi-layer-batch-first-lengths"}
    fewer = [entry for entry in runnable_cases if entry[0].id.split("/")[0] not in plain_stacked]
    assert uncombined_pairs(adapter("flax"), runnable_cases) == []
    assert ("bidirectional", "layers") in uncombined_pairs(adapter("flax"), fewer)
