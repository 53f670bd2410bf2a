"""The suite's mutation score: every defect of the zoo is killed, the correct control never fails."""
import pytest

from lstm_conformance.cli import main
from lstm_conformance.mutants import QUICK_CASES, ZOO, ControlLSTM, good, kill_matrix_markdown, run_mutants
from lstm_conformance.spec.materialize import materialize


@pytest.fixture(scope="module")
def quick_result(library):
    by_id = {c.id: c for c in library}
    return run_mutants([by_id[i] for i in QUICK_CASES])


def test_the_zoo_has_at_least_20_distinct_defects():
    assert len(ZOO) >= 20
    assert len({m.name for m in ZOO}) == len(ZOO) and len({m.defect for m in ZOO}) == len(ZOO)
    assert all(m.name != ControlLSTM.name and issubclass(m, ControlLSTM) for m in ZOO)


def test_every_mutant_is_killed_on_the_quick_cases_and_the_control_passes(quick_result):
    survivors = [m["name"] for m in quick_result["mutants"] if not m["killed"]]
    assert not survivors
    assert quick_result["control"]["false_failures"] == [] and quick_result["control"]["records"] > 50
    assert quick_result["score"] == 1.0 and good(quick_result)


def test_the_kill_matrix_names_the_checks_that_kill(quick_result):
    kills = {m["name"]: m["kills"] for m in quick_result["mutants"]}
    # each family of defect is caught by the check made for it
    assert "gradients" in kills["c_n-gradient-dropped"] and "forward" not in kills["c_n-gradient-dropped"]
    assert set(kills["noise-1e-9-between-runs"]) >= {"determinism"}
    assert set(kills["strides-ignored"]) == {"strided"}
    assert set(kills["accepts-t-0"]) == {"errors"}
    assert "batch-independence" in kills["batch-rows-share-state"]
    assert "padding-invariance" in kills["padding-processed"]
    assert "state-chaining" in kills["initial-state-ignored"]
    assert "dtypes" in kills["outputs-upcast-to-float64"]
    text = kill_matrix_markdown(quick_result)
    assert f"mutation score: {len(ZOO)}/{len(ZOO)} killed (100%)" in text
    assert "0 false failures" in text


@pytest.fixture(scope="module")
def control_runs(library):
    """Each quick case with the control's float64 outputs and its gradients for upstream all
    ones: computed once, every mutant below is compared with them (on a problem of its own)."""
    import numpy as np
    by_id = {c.id: c for c in library}
    runs = []
    for case_id in QUICK_CASES:
        problem = materialize(by_id[case_id], "float64")
        want = ControlLSTM().prepare(problem)()
        upstream = {k: np.ones(tuple(want[k].shape)) for k in ("y", "h_n", "c_n")}
        runs.append((by_id[case_id], want, upstream, ControlLSTM().gradients(problem, upstream)))
    return runs


@pytest.mark.parametrize("mutant", ZOO, ids=lambda m: m.name)
def test_each_mutant_departs_from_the_control(control_runs, mutant):
    # Not vacuous: on some quick case, the mutant's forward or gradients differ from the control's.
    for case, want, upstream, w in control_runs:
        problem = materialize(case, "float64")
        try:
            got = mutant().prepare(problem)()
        except Exception:
            return  # it raises where the control does not, or the reverse: different
        if any(not torch_equal(got[k], want[k]) for k in want):
            return
        g = mutant().gradients(problem, upstream)
        if any(not torch_equal(g[k], w[k]) for k in w):
            return
    # The remaining mutants differ only in how they treat invalid or strided inputs, dtypes, or repeated runs.
    assert mutant.name in {"strides-ignored", "accepts-t-0", "casts-mixed-dtypes", "state-shape-unchecked",
                           "outputs-upcast-to-float64", "noise-1e-9-between-runs"}


def torch_equal(a, b):
    import torch
    return a.dtype == b.dtype and a.shape == b.shape and bool(torch.equal(a, b))


def test_the_mutants_command_prints_the_matrix_and_fails_on_a_survivor(capsys):
    assert main(["mutants", "--quick", "--mutant", "accepts-t-0", "--check", "errors", "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    assert "accepts-t-0" in out and "mutation score: 1/1 killed (100%)" in out
    # The forward check alone cannot see an accepted T = 0: the mutant survives, exit 1.
    assert main(["mutants", "--quick", "--mutant", "accepts-t-0", "--check", "forward", "--dtype", "float32"]) == 1
    assert "SURVIVED" in capsys.readouterr().out
    assert main(["mutants", "--mutant", "no-such-mutant"]) == 2


@pytest.mark.slow
def test_every_mutant_is_killed_on_the_whole_library_without_false_failures(library):
    result = run_mutants(library)
    assert good(result), kill_matrix_markdown(result)
