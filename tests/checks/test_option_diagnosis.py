"""'X ignored': an implementation that silently drops an option of the case (runs as if it
were at its default) is diagnosed by name, for every option of the spec that an
implementation can drop and still run (not projection: weight_hh is (4H, P), so without it
nothing runs), and so are the known partial forms of the clip."""
import dataclasses

import pytest

from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.harness.runner import run_case
from lstm_conformance.spec.loader import load_text
from lstm_conformance.spec.model import ACTIVATION_ROLES, STANDARD_ACTIVATIONS, Activation

STRUCTURE = {c.id: c for c in load_text("""
cases:
  - id: no-state-two-layers
    about: two layers without initial states
    shape: {seq_len: 4, batch: 3, input_size: 3, hidden_size: 5}
    options: {num_layers: 2}
    seed: 32
  - id: no-state-bidirectional
    about: two directions without initial states
    shape: {seq_len: 4, batch: 3, input_size: 3, hidden_size: 5}
    options: {bidirectional: true}
    seed: 33
  - id: no-state-batch-first
    about: batch_first without initial states
    shape: {seq_len: 4, batch: 3, input_size: 3, hidden_size: 5}
    options: {batch_first: true}
    seed: 34
""", file="test_option_diagnosis.py")}


def with_role_default(role, keep_parameters=False):
    """A change of the problem: the activation of `role` at its default (or only its alpha/beta)."""
    def change(config):
        act = config.activation(role)
        new = Activation(act.name) if keep_parameters else STANDARD_ACTIVATIONS[role]
        return {"activations": tuple(new if r == role else config.activation(r) for r in ACTIVATION_ROLES)}
    return change


class IgnoresOption(NumpyAdapter):
    """The numpy adapter, run on the problem with one option set to its default (and its
    parameters dropped): an implementation that silently ignores that option."""

    def __init__(self, changes, drop=()):
        self.changes, self.drop = changes, drop
        self.name = "ignores-option"

    def ignoring(self, problem):
        changes = self.changes(problem.config) if callable(self.changes) else self.changes
        params = {k: v for k, v in problem.params.items() if not any(d(k) for d in self.drop)}
        return dataclasses.replace(problem, config=problem.config.with_options(**changes), params=params)

    def prepare(self, problem):
        return super().prepare(self.ignoring(problem))


OPTIONS = [
    # (case, what the implementation ignores, the pattern the diagnosis must name)
    ("peepholes", IgnoresOption({"peepholes": False}, [lambda k: k.startswith("peephole")]), "peepholes ignored"),
    ("input-forget", IgnoresOption({"input_forget": False}), "input_forget ignored"),
    ("cell-clip-random", IgnoresOption({"cell_clip": None}), "cell clip ignored"),
    ("forget-bias/plus1", IgnoresOption({"forget_bias": 0.0}), "forget_bias ignored"),
    ("forget-bias/minus2", IgnoresOption({"forget_bias": 0.0}), "forget_bias ignored"),
    ("act-tanh-gates", IgnoresOption(with_role_default("gate")), "gate activation σ = tanh ignored"),
    ("act-relu-cell", IgnoresOption(with_role_default("cell")), "cell activation φ = relu ignored"),
    ("act-softsign", IgnoresOption(with_role_default("hidden")), "hidden activation ψ = softsign ignored"),
    ("act-hard-sigmoid-custom", IgnoresOption(with_role_default("gate", keep_parameters=True)),
     "alpha/beta of the gate activation hard_sigmoid(alpha=0.3, beta=0.6) ignored"),
    ("act-everything-nonstandard", IgnoresOption({"activations": tuple(STANDARD_ACTIVATIONS.values())}),
     "activations ignored"),
    ("no-state-two-layers", IgnoresOption({"num_layers": 1}, [lambda k: "_l1" in k]), "num_layers ignored"),
    ("no-state-bidirectional", IgnoresOption({"bidirectional": False}, [lambda k: k.endswith("_reverse")]),
     "bidirectional ignored"),
    ("no-state-batch-first", IgnoresOption({"batch_first": False}), "batch_first ignored"),
    # issue 15, options 5 and 6
    ("padding-carry", IgnoresOption({"padding": "zeros"}), "padding: carry ignored"),
    ("state-clip-binds", IgnoresOption({"state_clip": None}), "state_clip ignored"),
    ("proj-clip-binds", IgnoresOption({"proj_clip": None}), "proj_clip ignored"),
    ("layer-norm", IgnoresOption({"layer_norm": False}, [lambda k: k.startswith("layer_norm")]),
     "layer_norm ignored"),
]


@pytest.mark.parametrize("case_id, adapter, pattern", OPTIONS, ids=[o[0] for o in OPTIONS])
def test_an_ignored_option_is_named(cases, case_id, adapter, pattern):
    case = cases.get(case_id) or STRUCTURE[case_id]
    r = run_case(case, "float64", adapter, check="forward")
    assert r["status"] == "fail", r["message"]
    assert [p for p in r["diagnosis"]["patterns"] if p.startswith(pattern)] == r["diagnosis"]["patterns"][:1], \
        r["diagnosis"]["patterns"]
    assert len(r["diagnosis"]["patterns"]) == 1, r["diagnosis"]["patterns"]


def test_lengths_ignored_is_named(cases):
    class IgnoresLengths(NumpyAdapter):
        name = "ignores-lengths"

        def prepare(self, problem):
            return super().prepare(dataclasses.replace(problem, lengths=None))

    r = run_case(cases["lengths-with-state"], "float64", IgnoresLengths(), check="forward")
    assert r["diagnosis"]["patterns"] == ["lengths ignored (every row runs all T steps)"]


def test_clip_on_the_gates_only_is_named_on_onnxruntime(cases):
    """onnxruntime clips the four gate pre-activations and not ψ's input (SPEC §13)."""
    pytest.importorskip("onnxruntime")
    from lstm_conformance.implementations.onnxruntime_lstm import OnnxRuntimeAdapter

    r = run_case(cases["cell-clip-binds"], "float32", OnnxRuntimeAdapter(), check="forward")
    assert r["status"] == "fail"
    assert r["diagnosis"]["patterns"] == ["cell clip applied to the gates only (ψ's input c' not clipped)"]


def test_no_option_pattern_claims_the_correct_outputs(cases):
    for case_id in ("peepholes", "cell-clip-random", "act-everything-nonstandard", "lengths-with-state"):
        r = run_case(cases[case_id], "float64", NumpyAdapter(), check="forward")
        assert r["status"] == "pass", r["message"]
