"""Library cases that must be as strong as they look (issue 15, "Stronger cases"):

* every cell-clip case binds: the reference's own activation inputs show a sizeable share
  of elements outside [-clip, clip];
* variable lengths are tested with one direction too (with states, layers, batch_first);
* activations whose alpha or beta is omitted are run by an implementation with other
  defaults, which must fail;
* no case has gate blocks that a permutation leaves unchanged (any gate order would pass
  it) unless it carries the tag `identical-gate-blocks` (spec/README.md).
"""
import dataclasses
import itertools

import numpy as np
from lstm_conformance.harness.runner import run_case
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.reference.forward import run_stack, state_to_batched, to_time_major
from lstm_conformance.spec.loader import load_cases
from lstm_conformance.spec.materialize import materialize
from lstm_conformance.spec.model import ACTIVATION_DEFAULTS

GATE_ARRAYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
IDENTICAL_BLOCKS_TAG = "identical-gate-blocks"
CLIP_GATES_ONLY_TAG = "clip-gates-only"
MIN_SHARE = 0.10


def valid(library):
    return [c for c in library if c.expect_error is None]


# ----------------------------------------------------------------------------- the clip binds

def clipped_shares(problem):
    """(share of gate pre-activations, share of states c' as ψ sees them) outside
    [-cell_clip, cell_clip], over every active step of every layer and direction."""
    cfg = problem.config
    *_, steps = run_stack(cfg, to_time_major(cfg, problem.x), problem.params, state_to_batched(cfg, problem.h0),
                          state_to_batched(cfg, problem.c0), problem.lengths, keep_steps=True)
    gates, states = [], []
    for step in (s for layer in steps for direction in layer for s in direction):
        rows = step.active[:, 0]
        used = [step.a_i, step.a_g, step.a_o] + ([] if cfg.input_forget else [step.a_f])
        gates += [np.abs(a[rows]).ravel() > cfg.cell_clip for a in used]
        states.append(np.abs(step.c_new[rows]).ravel() > cfg.cell_clip)
    return float(np.concatenate(gates).mean()), float(np.concatenate(states).mean())


def clip_cases(library):
    return [c for c in valid(library) if c.config.cell_clip is not None]


def test_every_clip_case_binds_on_a_sizeable_share(library):
    cases = clip_cases(library)
    assert len(cases) >= 5
    both = 0
    for case in cases:
        gates, states = clipped_shares(materialize(case, "float64"))
        # some clipped and some not: both branches of clip (and of its derivative) are used
        assert MIN_SHARE <= gates <= 1 - MIN_SHARE or case.shape["seq_len"] * case.shape["batch"] <= 4, \
            (case.id, gates)
        if CLIP_GATES_ONLY_TAG in case.tags:
            assert states == 0, f"{case.id} is tagged {CLIP_GATES_ONLY_TAG} but the clip binds on c' ({states:.0%})"
        else:
            assert states > 0, f"{case.id}: no state c' reaches the clip; tag it {CLIP_GATES_ONLY_TAG} if meant"
        if case.group == "clip":
            assert states >= MIN_SHARE, f"{case.id}: only {states:.0%} of the states c' reach the clip"
            both += 1
    assert both >= 4, "random cases where the clip binds on the gates and on ψ's input"


# ----------------------------------------------------------------------------- lengths, one direction

def test_lengths_with_one_direction_in_several_configurations(library):
    one_direction = [c.config for c in valid(library)
                     if c.inputs.get("lengths") is not None and not c.config.bidirectional]
    with_states = [c for c in valid(library) if c.inputs.get("lengths") is not None and not c.config.bidirectional
                   and c.inputs.get("h0") not in (None, "none") and c.inputs.get("c0") not in (None, "none")]
    assert len(one_direction) >= 4
    assert len(with_states) >= 3
    assert any(cfg.num_layers > 1 for cfg in one_direction)
    assert any(cfg.batch_first for cfg in one_direction)
    assert any(cfg.num_layers > 1 and cfg.proj_size and cfg.batch_first for cfg in one_direction)


# ----------------------------------------------------------------------------- activation defaults

# Values an implementation might use instead of ONNX's defaults (other frameworks' defaults:
# Keras LeakyReLU 0.3, tf.nn.leaky_relu 0.2, PyTorch/Keras 3 hard sigmoid slope 1/6, ...)
WRONG_DEFAULTS = {
    ("leaky_relu", "alpha"): (0.0, 0.1, 0.2, 0.3),
    ("thresholded_relu", "alpha"): (0.0, 0.5, 2.0),
    ("hard_sigmoid", "alpha"): (1 / 6, 0.25),
    ("hard_sigmoid", "beta"): (0.0, 0.6),
    ("elu", "alpha"): (0.1, 0.5, 2.0),
    ("affine", "alpha"): (0.0, 0.5, 2.0),
    ("affine", "beta"): (-0.5, 0.5, 1.0),
}


def test_wrong_defaults_cover_every_default_of_the_spec():
    expected = {(name, p) for name, values in ACTIVATION_DEFAULTS.items()
                for p, v in zip(("alpha", "beta"), values) if v is not None}
    assert set(WRONG_DEFAULTS) == expected


class WrongDefaults(NumpyAdapter):
    """The numpy adapter with another default for one activation parameter: where the case
    leaves that parameter out, the implementation uses `value` instead of ONNX's default."""

    def __init__(self, name, parameter, value):
        self.activation, self.parameter, self.value = name, parameter, value
        self.name = f"default-{name}-{parameter}-{value:g}"

    def with_default(self, act):
        if act.name == self.activation and getattr(act, self.parameter) is None:
            return dataclasses.replace(act, **{self.parameter: self.value})
        return act

    def prepare(self, problem):
        config = problem.config.with_options(activations=tuple(self.with_default(a) for a in problem.config.activations))
        return super().prepare(dataclasses.replace(problem, config=config))


def omitted(case):
    """(activation name, parameter) pairs that the case leaves to the default."""
    return {(act.name, p) for act in case.config.activations for p in ("alpha", "beta")
            if (act.name, p) in WRONG_DEFAULTS and getattr(act, p) is None}


def test_every_default_is_left_to_the_implementation_by_a_defaults_case(library):
    covered = set().union(*(omitted(c) for c in valid(library) if c.group == "defaults"))
    assert covered == set(WRONG_DEFAULTS)


def _default_runs(library):
    for case in valid(library):
        if case.group != "defaults":
            continue
        for name, parameter in sorted(omitted(case)):
            for value in WRONG_DEFAULTS[name, parameter]:
                yield case, WrongDefaults(name, parameter, value)


def test_defaults_cases_pass_with_the_right_defaults(library):
    for case in (c for c in valid(library) if c.group == "defaults"):
        for dtype in case.dtypes:
            record = run_case(case, dtype, NumpyAdapter(), check="forward", diagnose=False)
            assert record["status"] == "pass", (case.id, dtype, record["message"])


def test_an_implementation_with_a_wrong_default_fails_every_defaults_case(library):
    runs = list(_default_runs(library))
    assert len(runs) >= 20
    for case, adapter in runs:
        # float32: the widest tolerance of the case's dtypes
        record = run_case(case, "float32", adapter, check="forward", diagnose=False)
        assert record["status"] == "fail", (case.id, adapter.name, record["message"])


# ----------------------------------------------------------------------------- gate blocks

def gate_swaps_that_change_nothing(problem):
    """The transpositions of two gate blocks that leave every gate array (weights and biases,
    all layers and directions) unchanged: an implementation that reads those gates the other
    way round gets the same outputs."""
    arrays = [v for k, v in problem.params.items() if k.startswith(GATE_ARRAYS)]
    invisible = []
    for a, b in itertools.combinations(range(4), 2):
        if all(np.array_equal(np.split(v, 4)[a], np.split(v, 4)[b]) for v in arrays):
            invisible.append("ifgo"[a] + "ifgo"[b])
    return invisible


def test_no_case_has_gate_blocks_that_any_order_passes_unless_it_says_why(library):
    tagged = 0
    for case in valid(library):
        swaps = gate_swaps_that_change_nothing(materialize(case, "float64"))
        if IDENTICAL_BLOCKS_TAG in case.tags:
            tagged += 1
            assert swaps, f"{case.id} is tagged {IDENTICAL_BLOCKS_TAG} but its gate blocks differ"
            assert "gate" in case.about or "block" in case.about, \
                f"{case.id}: tagged {IDENTICAL_BLOCKS_TAG}; its about must say why"
        else:
            assert not swaps, (f"{case.id}: swapping gate blocks {swaps} changes no parameter, so that gate-order "
                               f"bug passes it; make the blocks differ or tag it {IDENTICAL_BLOCKS_TAG} and say why")


def test_the_gate_block_detector():
    """The detector itself: parameters with one block repeated four times are flagged,
    those of a random case are not."""
    case = next(c for c in load_cases() if c.id == "distinct-biases")
    problem = materialize(case, "float64")
    assert gate_swaps_that_change_nothing(problem) == []
    same = {k: (np.tile(np.split(v, 4)[0], (4,) + (1,) * (v.ndim - 1)) if k.startswith(GATE_ARRAYS) else v)
            for k, v in problem.params.items()}
    assert len(gate_swaps_that_change_nothing(dataclasses.replace(problem, params=same))) == 6
