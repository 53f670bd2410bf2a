"""The flax adapters (implementations/flax_lstm.py): the case library passes through Flax's
LSTMCell and OptimizedLSTMCell, and adapters with a deliberately wrong mapping fail.

Without flax and jax (the main venv) every test but the skip-reason one is skipped, with the
install hint; tox -e frameworks runs them.
"""
import importlib.util

import pytest

from lstm_conformance import api
from lstm_conformance.implementations import flax_lstm
from lstm_conformance.implementations.flax_lstm import FlaxLSTMAdapter, FlaxProblem, REASONS

NEEDS_FLAX = pytest.mark.skipif(flax_lstm.missing_package() is not None,
                                reason=f"flax or jax not installed ({flax_lstm.INSTALL_HINT})")


def test_skip_reason_names_the_missing_package_and_the_install_hint(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "flax" else object())
    assert FlaxLSTMAdapter().skip_reason() == "flax not installed (pip install lstm-conformance[flax])"
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    assert FlaxLSTMAdapter().skip_reason() is None


def bad_records(records):
    return [f"{r['case']} [{r['dtype']}] {r['check']}: {r['status']}: {r['message']}"
            for r in records if r["status"] in ("fail", "error")]


@NEEDS_FLAX
@pytest.mark.parametrize("impl, checks", [("flax", None), ("flax-optimized", ["forward", "gradients"])])
def test_every_applicable_case_of_the_library_passes(impl, checks):
    # every check on LSTMCell; OptimizedLSTMCell shares the parameters and the loop: forward and gradients
    records = api.run(impl, checks=checks)
    assert not bad_records(records), "\n".join(bad_records(records))
    passed = [r for r in records if r["status"] == "pass"]
    assert len(passed) >= (300 if checks is None else 150)
    # what ran: lengths, two directions, reverse, layers, gradients, half precision
    ran = {(r["case"], r["check"], r["dtype"]) for r in passed}
    for case, check, dtype in [("lengths-bidirectional/unsorted", "forward", "float32"),
                               ("reverse-lengths", "forward", "float64"),
                               ("random/t5b3i4h7/bias/given-state", "gradients", "float64")]:
        assert any(c.startswith(case) and k == check and d == dtype for c, k, d in ran), (case, check, dtype)
    assert checks is not None or any(r["dtype"] in ("float16", "bfloat16") for r in passed)
    for r in records:
        if r["status"] == "unsupported":
            assert r["message"], "an unsupported case must say why"


@NEEDS_FLAX
def test_padding_carry_and_projection_are_unsupported_with_flax_reasons():
    records = api.run("flax", filters=["padding-carry*", "proj*"], checks=["forward"])
    assert records and {r["status"] for r in records} == {"unsupported"}
    assert any(REASONS["padding_carry"] in r["message"] for r in records)
    assert any(REASONS["projection"] in r["message"] for r in records)


def swap_blocks(cell: dict, a: str, b: str) -> dict:
    """A Flax cell tree with gate blocks a and b exchanged on both input sides."""
    out = dict(cell)
    for side in "ih":
        out[side + a], out[side + b] = cell[side + b], cell[side + a]
    return out


class GatesSwapped(FlaxLSTMAdapter):
    """Wrong: the Dense layers of gates i and f exchanged (a gate-order mistake in the conversion)."""
    name = "flax-gates-swapped"

    def flax_problem(self, problem):
        fp = super().flax_problem(problem)
        fp.params = {"params": {layer: {"cell": swap_blocks(tree["cell"], "i", "f")}
                                for layer, tree in fp.params["params"].items()}}
        return fp


class ForgetBiasAdded(FlaxLSTMAdapter):
    """Wrong: 1 added to the forget gate's bias (what an initialiser's forget bias would leave)."""
    name = "flax-forget-bias-added"

    def flax_problem(self, problem):
        fp = super().flax_problem(problem)
        fp.params = {"params": {layer: {"cell": {**tree["cell"], "hf": {**tree["cell"]["hf"],
                                                                        "bias": tree["cell"]["hf"]["bias"] + 1}}}
                                for layer, tree in fp.params["params"].items()}}
        return fp


class CarrySwapped(FlaxProblem):
    def forward(self, params, x, h0, c0):  # hands Flax (h, c) where it takes (c, h)
        return super().forward(params, x, c0, h0)


class CarryOrderSwapped(FlaxLSTMAdapter):
    """Wrong: the initial carry given as (h, c); Flax's carry is (c, h)."""
    name = "flax-carry-swapped"

    def flax_problem(self, problem):
        return CarrySwapped(problem, self.cell)


@NEEDS_FLAX
@pytest.mark.parametrize("broken, cases, diagnosis", [
    (GatesSwapped, ["random/t5b3i4h7/bias/zero-state"], "gate blocks i and f swapped"),
    (ForgetBiasAdded, ["random/t5b3i4h7/bias/zero-state"], None),
    (CarryOrderSwapped, ["random/t5b3i4h7/bias/given-state", "h0-only"], None),
])
def test_a_wrong_mapping_fails(broken, cases, diagnosis):
    records = api.run(broken(), filters=cases, checks=["forward"], dtypes=["float64"])
    assert records and all(r["status"] == "fail" for r in records), [(r["case"], r["status"]) for r in records]
    if diagnosis:
        assert any(diagnosis in r["message"] for r in records), records[0]["message"]


@NEEDS_FLAX
def test_description_names_the_versions():
    text = FlaxLSTMAdapter().description
    assert "flax 0." in text and "jax 0." in text
