"""The built-in spec case library: it loads, it is big enough, and the edge cases SPEC.md
promises are really in it. Cases are recognised by what they contain (configuration,
materialized arrays), never by their ids, so a renamed or silently changed case is caught."""
import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from lstm_conformance.literals import check_literals
from lstm_conformance.reference import lstm_forward, validate_problem
from lstm_conformance.spec.loader import builtin_case_files
from lstm_conformance.spec.materialize import materialize
from lstm_conformance.spec.model import input_shape, parameter_shapes, state_shapes
from lstm_conformance.tolerances import tolerance_for

GATE_ARRAYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def base_id(case) -> str:
    return case.id.split("/")[0]


@pytest.fixture(scope="module")
def problems(library):
    """case id -> the case materialized in float64 (the values every dtype starts from)."""
    return {case.id: materialize(case, "float64") for case in library}


def valid(library):
    return [c for c in library if c.expect_error is None]


def invalid(library):
    return [c for c in library if c.expect_error is not None]


def reference(problem, **changes):
    args = dict(x=problem.x, params=problem.params, h0=problem.h0, c0=problem.c0, lengths=problem.lengths)
    args.update(changes)
    return lstm_forward(problem.config, **args).as_dict()


# ----------------------------------------------------------------------------- the library as a whole

def test_library_loads_with_unique_ids_and_at_least_40_base_cases(library):
    ids = [c.id for c in library]
    assert len(ids) == len(set(ids))
    assert len({base_id(c) for c in library}) >= 40
    assert sum("/" in c.id for c in library) >= 20, "the library declares matrices of variants"


def test_every_case_says_what_it_checks(library):
    for case in library:
        assert case.about.strip(), case.id
        assert len(case.about.split()) >= 4, f"{case.id}: about is too short to say what the case checks"


def test_every_case_file_names_its_group():
    groups = []
    for path in builtin_case_files():
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        assert document.get("group"), f"{path.name} has no group"
        groups.append(document["group"])
    assert len(groups) == len(set(groups)), f"two files share a group: {Counter(groups)}"


def test_every_valid_case_is_accepted_by_the_reference_and_has_the_shapes_of_the_spec(library, problems):
    for case in valid(library):
        problem = problems[case.id]
        config = problem.config
        validate_problem(config, problem.x, problem.params, problem.h0, problem.c0, problem.lengths)
        out = reference(problem)
        T, B = case.shape["seq_len"], case.shape["batch"]
        y_like = input_shape(config, T, B)[:-1]
        states = state_shapes(config, B)
        assert out["y"].shape == y_like + (config.num_directions * config.output_size,), case.id
        assert out["c"].shape == y_like + (config.num_directions * config.hidden_size,), case.id
        assert out["h_n"].shape == states["h0"] and out["c_n"].shape == states["c0"], case.id
        assert all(np.isfinite(v).all() for v in out.values()), case.id


def test_literal_expectations_agree_with_the_reference(library, problems):
    """Hand-derived literals (toy, TEXTBOOK.md §4, cell clip, growing cell) and the reference must agree:
    a wrong literal or a reference that drifted from the spec shows here."""
    with_literals = [c for c in valid(library) if c.expect]
    assert len(with_literals) >= 4
    for case in with_literals:
        for dtype in case.dtypes:
            problem = materialize(case, dtype)
            records = check_literals(case.expect, reference(problem), problem)
            assert all(r["passed"] for r in records), (case.id, dtype, records)


# ----------------------------------------------------------------------------- required edge cases

def _nonzero(a):
    return a is not None and np.any(a != 0)


def _block_scales(case):
    """{array kind: block_scale} for the gate arrays of layer 0 that declare one."""
    scales = {}
    for pattern, spec in case.parameters.items():
        if isinstance(spec, dict) and "block_scale" in spec:
            for kind in GATE_ARRAYS:
                if pattern.startswith(kind):
                    scales[kind] = spec["block_scale"]
    return scales


def _distinguishes_gate_blocks(case, problem):
    scales = _block_scales(case)
    return (set(scales) == set(GATE_ARRAYS) and all(len(set(s)) == 4 for s in scales.values())
            and _nonzero(problem.h0) and _nonzero(problem.c0))


def _seeds4(case, problem):
    cfg = problem.config
    return (cfg.input_size == 10 and cfg.hidden_size == 20 and problem.x.shape == (1, 1, 10)
            and np.all(problem.x == 1) and problem.h0 is not None and problem.c0 is not None
            and problem.h0.shape == (1, 1, 20) and np.all(problem.h0 == 1) and np.all(problem.c0 == 1)
            and cfg.bias and all(np.all(v == 0.5) for v in problem.params.values()))


def _absmax(a) -> float:
    return float(np.abs(a).max()) if np.size(a) else 0.0


def _lengths(problem):
    return None if problem.lengths is None else [int(n) for n in problem.lengths]


def _state_shape_wrong(problem):
    expected = state_shapes(problem.config, problem.batch)
    return any(v is not None and v.shape != expected[k] for k, v in (("h0", problem.h0), ("c0", problem.c0)))


REQUIRED_VALID = {
    "H = 1": lambda c, p: p.config.hidden_size == 1,
    "prime sizes I = 7, H = 13": lambda c, p: (p.config.input_size, p.config.hidden_size) == (7, 13),
    "T = 1": lambda c, p: p.seq_len == 1,
    "T = 1000 with small B and H": lambda c, p: p.seq_len >= 1000 and p.batch <= 4 and p.config.hidden_size <= 8,
    "saturated gates: inputs ±50, large weights": lambda c, p: (
        _absmax(p.x) >= 45 and _absmax(p.params["weight_ih_l0"]) >= 5),
    "distinguishable gate blocks": _distinguishes_gate_blocks,
    "nonzero h0 ≠ c0": lambda c, p: (
        _nonzero(p.h0) and _nonzero(p.c0) and p.h0.shape == p.c0.shape and not np.allclose(p.h0, p.c0)),
    "explicit zero states": lambda c, p: (
        p.h0 is not None and p.c0 is not None and not _nonzero(p.h0) and not _nonzero(p.c0)),
    "bias off": lambda c, p: not p.config.bias,
    "b_hh distinct from b_ih": lambda c, p: (
        p.config.bias and _nonzero(p.params["bias_ih_l0"]) and _nonzero(p.params["bias_hh_l0"])
        and p.params["bias_ih_l0"].max() < p.params["bias_hh_l0"].min()),
    "multi-layer with projection": lambda c, p: p.config.num_layers >= 2 and p.config.proj_size > 0,
    "bidirectional with lengths [7, 5, 5, 2, 1, 1] unsorted": lambda c, p: (
        p.config.bidirectional and _lengths(p) is not None
        and sorted(_lengths(p), reverse=True) == [7, 5, 5, 2, 1, 1] and _lengths(p) != [7, 5, 5, 2, 1, 1]),
    "batch 1": lambda c, p: p.batch == 1 and not p.config.unbatched,
    "batch 0": lambda c, p: p.x.ndim == 3 and p.batch == 0,
    "unbatched": lambda c, p: p.config.unbatched and p.x.ndim == 2,
    "batch_first": lambda c, p: p.config.batch_first and p.x.shape[0] == p.batch != p.seq_len,
    "TEXTBOOK.md §4 all-0.5 weights": _seeds4,
    "float32 and float64": lambda c, p: {"float32", "float64"} <= set(c.dtypes),
}

REQUIRED_INVALID = {
    "T = 0": lambda c, p: p.seq_len == 0,
    "wrong h0 shape": lambda c, p: p.h0 is not None and p.h0.shape != state_shapes(p.config, p.batch)["h0"],
    "wrong c0 shape": lambda c, p: p.c0 is not None and p.c0.shape != state_shapes(p.config, p.batch)["c0"],
    "wrong state shape, unbatched": lambda c, p: p.config.unbatched and _state_shape_wrong(p),
    "wrong x feature size": lambda c, p: p.x.shape[-1] != p.config.input_size,
    "a length below 1": lambda c, p: _lengths(p) is not None and min(_lengths(p)) < 1,
    "a length above T": lambda c, p: _lengths(p) is not None and max(_lengths(p)) > p.seq_len,
    "lengths not one per row": lambda c, p: _lengths(p) is not None and len(_lengths(p)) != p.batch,
    "P >= H": lambda c, p: p.config.proj_size >= p.config.hidden_size,
    "wrong parameter shape": lambda c, p: any(
        p.params[k].shape != s for k, s in parameter_shapes(p.config).items()),
}


@pytest.mark.parametrize("name", list(REQUIRED_VALID))
def test_required_valid_edge_case_exists(name, library, problems):
    hits = [c.id for c in valid(library) if REQUIRED_VALID[name](c, problems[c.id])]
    assert hits, f"no valid case in the library has: {name}"


@pytest.mark.parametrize("name", list(REQUIRED_INVALID))
def test_required_expected_error_case_exists(name, library, problems):
    hits = [c.id for c in invalid(library) if REQUIRED_INVALID[name](c, problems[c.id])]
    assert hits, f"no expect_error case in the library has: {name}"


def test_every_option_and_layout_is_combined_with_lengths_or_states_somewhere(library, problems):
    """Variable lengths are exercised beyond the simplest configuration."""
    with_lengths = [problems[c.id].config for c in valid(library) if problems[c.id].lengths is not None]
    assert any(cfg.num_layers > 1 and cfg.bidirectional and cfg.proj_size for cfg in with_lengths)
    assert any(cfg.batch_first for cfg in with_lengths)


# ----------------------------------------------------------------------------- cases that must discriminate

def permute_gate_blocks(params: dict, order) -> dict:
    """The parameters with the four gate blocks of every (4H, ...) array put in `order`."""
    out = {}
    for name, value in params.items():
        if name.startswith(GATE_ARRAYS):
            blocks = np.split(value, 4, axis=0)
            value = np.concatenate([blocks[k] for k in order], axis=0)
        out[name] = value
    return out


def test_gate_block_case_distinguishes_all_23_wrong_orders(library):
    cases = [c for c in valid(library) if _distinguishes_gate_blocks(c, materialize(c, "float64"))]
    assert cases
    tol = tolerance_for("float32")
    for case in cases:
        problem = materialize(case, "float32")
        expected = reference(problem)
        wrong_orders = [p for p in itertools.permutations(range(4)) if p != (0, 1, 2, 3)]
        assert len(wrong_orders) == 23
        for order in wrong_orders:
            got = reference(problem, params=permute_gate_blocks(problem.params, order))
            for name in ("y", "h_n", "c_n"):
                excess = np.abs(got[name] - expected[name]) - (tol.atol + tol.rtol * np.abs(expected[name]))
                # every output moves past the float32 tolerance, by a wide margin
                assert excess.max() > 100 * tol.atol, (case.id, order, name, excess.max())


def test_explicit_zero_states_equal_omitted_states(library, problems):
    zero_state = [c for c in valid(library) if REQUIRED_VALID["explicit zero states"](c, problems[c.id])]
    assert zero_state
    for case in zero_state:
        problem = problems[case.id]
        with_states, without = reference(problem), reference(problem, h0=None, c0=None)
        for name in with_states:
            np.testing.assert_array_equal(with_states[name], without[name], err_msg=f"{case.id}: {name}")


def test_zero_state_matrix_pairs_share_inputs_and_outputs(library, problems):
    """The variants with omitted and explicit zero states of one case get the same arrays
    (same seed), so an implementation must give them the same outputs."""
    pairs = 0
    for case in valid(library):
        problem = problems[case.id]
        if problem.h0 is None and problem.c0 is None:
            continue
        for other in valid(library):
            twin = problems[other.id]
            if (other.id != case.id and base_id(other) == base_id(case) and twin.h0 is None and twin.c0 is None
                    and not _nonzero(problem.h0) and not _nonzero(problem.c0) and twin.x.shape == problem.x.shape
                    and twin.config == problem.config):
                np.testing.assert_array_equal(twin.x, problem.x)
                for name, value in reference(problem).items():
                    np.testing.assert_array_equal(value, reference(twin)[name])
                pairs += 1
    assert pairs >= 1


def test_expected_error_cases_are_rejected_by_the_reference(library):
    cases = invalid(library)
    assert len(cases) >= 10
    for case in cases:
        for dtype in case.dtypes:
            problem = materialize(case, dtype)
            with pytest.raises(ValueError):
                validate_problem(problem.config, problem.x, problem.params, problem.h0, problem.c0, problem.lengths)


def test_every_expected_error_case_breaks_a_named_rule(library, problems):
    """An expect_error case must be invalid for a reason SPEC.md §9 lists (one of the
    REQUIRED_INVALID conditions), not by accident."""
    for case in invalid(library):
        broken = [name for name, rule in REQUIRED_INVALID.items() if rule(case, problems[case.id])]
        assert broken, f"{case.id}: breaks none of the rules {list(REQUIRED_INVALID)}"


def test_the_library_loads_the_same_with_libyaml_and_pure_python_yaml():
    """load_cases() parses the built-in files with libyaml's safe loader where PyYAML has it
    (spec/loader.py): each file must give exactly the document the pure-Python loader gives."""
    from lstm_conformance.spec import loader
    if loader._BUILTIN_LOADER is yaml.SafeLoader:
        pytest.skip("this PyYAML is built without libyaml: the library is parsed by the pure-Python loader")
    for path in builtin_case_files():
        text = path.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=loader._BUILTIN_LOADER) == yaml.safe_load(text), path.name
