"""Running a slow implementation without waiting forever: `--budget SECONDS` (time_budget.py)
stops starting units and records the rest as not run, and `--profile quick` (profiles.py)
bounds the cases and runs the repeated checks on a covering subset, and still catches broken
implementations. Time is a fake clock that each call of the implementation advances, except
in the CLI and plugin tests, which only check that the run stopped and said so."""

# Imported before pytester's in-process runs snapshot sys.modules (test_plugin.py says why):
# Hypothesis's pytest plugin would import it afresh at every inner session's end.
import hypothesis  # noqa: F401
import pytest
from fixtures.adapters import PerturbedAdapter, TextbookSwappedRows

from lstm_conformance.api import run
from lstm_conformance.cli import main as cli_main
from lstm_conformance.harness import usecases
from lstm_conformance.harness.planning import case_traits, coverage_first, unit_cost
from lstm_conformance.checks import CHECKS
from lstm_conformance.harness.profiles import declares_support, quick_plan, within_bounds
from lstm_conformance.harness.runner import iter_units
from lstm_conformance.harness.session import RunOptions, Session
from lstm_conformance.harness.time_budget import Budget
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.mutants import zoo
from lstm_conformance.report import results

GROUPS = ("lengths", "states", "tf-options")


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class SlowNumpy(NumpyAdapter):
    """NumPy's LSTM where every call (forward or gradients) takes one second of a fake clock."""
    name = "slow-numpy"

    def __init__(self, clock):
        self.clock = clock

    def prepare(self, problem):
        forward = super().prepare(problem)

        def call():
            self.clock.now += 1.0
            return forward()
        return call

    def gradients(self, problem, upstream):
        self.clock.now += 1.0
        return super().gradients(problem, upstream)


@pytest.fixture(scope="module", autouse=True)
def one_reference_cache():
    """The runs of this module (about twenty, over the same cases) share one in-memory reference
    cache instead of each reading the reference results back from the disk cache: the same
    content-keyed results, and records, 0.2 s of CPU less per run of the budget tests' cases."""
    from lstm_conformance.checks import ReferenceCache
    shared = ReferenceCache()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(usecases, "ReferenceCache", lambda: shared)
        yield


@pytest.fixture(scope="module")
def cases(library):
    """Some groups of small cases, and the long sequences a budget should leave for last."""
    return [c for c in library if c.group in GROUPS or c.id.startswith("long-sequence")]


@pytest.fixture(scope="module")
def whole_run(cases):
    """The run of `cases` without a budget, and the seconds of fake clock its calls took (the
    tests only read it)."""
    clock = FakeClock()
    return _run(cases, SlowNumpy(clock)), clock.now


def _run(cases, adapter, budget=None, **selection):
    with Session(RunOptions(), [adapter.name], lambda name: adapter) as session:
        return usecases.run_correctness(session, usecases.Selection(cases=cases, **selection), budget=budget,
                                        diagnose=False, keep_journal=False)


def _keys(records):
    return sorted((r["case"], r["dtype"], r["impl"], r["check"]) for r in records)


def _traits(records, by_id):
    return {t for r in records for t in case_traits(by_id[r["case"]])} | {("check", r["check"]) for r in records}


def test_budget_stops_starting_units_and_records_the_rest_as_not_run(cases, whole_run, monkeypatch):
    whole, total = whole_run  # total: the calls of the whole run, every one a second
    assert all(r["status"] in ("pass", "unsupported") for r in whole.records)

    clock, started = FakeClock(), []
    adapter = SlowNumpy(clock)
    real_run_unit = usecases.run_unit

    def timed_run_unit(unit, cache, diagnose):
        started.append(clock.now)
        return real_run_unit(unit, cache, diagnose)
    monkeypatch.setattr(usecases, "run_unit", timed_run_unit)
    budget = Budget(total / 2, clock)
    cut = _run(cases, adapter, budget)

    assert started and all(t < total / 2 for t in started)  # no unit started after the budget was spent
    assert clock.now >= total / 2  # and it was spent
    assert _keys(cut.records) == _keys(whole.records)  # every unit accounted for, none twice
    left = [r for r in cut.records if r["message"] == budget.reason]
    assert left and all(r["status"] == "skipped" for r in left)
    assert budget.left_out == len({(r["case"], r["dtype"]) for r in left}) == len(
        list(iter_units(cases, [adapter]))) - len(started)
    assert cut.incomplete.startswith(f"--budget {total / 2:g} s spent: {budget.left_out} of ")
    assert cut.exit_status(strict=False, allow_empty=False) == 1
    assert cut.exit_status(strict=False, allow_empty=False, allow_incomplete=True) == 0
    assert cut.settings()["budget"] == {"seconds": total / 2, "units_not_run": budget.left_out}
    # Coverage first: half the time reached every feature, group and check of the selection.
    by_id = {c.id: c for c in cases}
    ran = [r for r in cut.records if r["message"] != budget.reason]
    assert _traits(ran, by_id) == _traits(whole.records, by_id)
    assert any(r["case"] == "long-sequence-t1000" for r in left)  # the costliest units were left for last


def test_a_budget_never_spent_changes_nothing_but_the_order(library, whole_run):
    cases = [c for c in library if c.group in ("states", "tf-options")]
    ids = {c.id for c in cases}
    plain = [r for r in whole_run[0].records if r["case"] in ids]  # those cases' records, run without a budget
    assert {r["case"] for r in plain} == ids
    clock = FakeClock()
    budgeted = _run(cases, SlowNumpy(clock), Budget(1e9, clock))
    assert budgeted.incomplete == "" and budgeted.exit_status(strict=False, allow_empty=False) == 0
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in budgeted.records]
    assert sorted(strip, key=results.sort_key) == sorted(({k: v for k, v in r.items() if k != "seconds"}
                                                          for r in plain), key=results.sort_key)


def test_coverage_first_order_reaches_every_trait_before_the_costly_rest(library):
    adapters = [NumpyAdapter(), PerturbedAdapter()]
    units = list(iter_units(library, adapters))
    ordered = coverage_first(units)
    assert sorted(map(id, ordered)) == sorted(map(id, units))

    def traits(unit):
        own = case_traits(unit.case) | {unit.dtype} | {c.name for c in unit.checks}
        return {(unit.adapter.name, t) for t in own}
    everything = set().union(*map(traits, units))
    reached, prefix = set(), 0
    while reached != everything:
        reached |= traits(ordered[prefix])
        prefix += 1
    assert prefix < len(units) // 2
    assert sum(map(unit_cost, ordered[:prefix])) < sum(map(unit_cost, units)) / 4
    rest = ordered[prefix:]
    assert {u.case.id for u in rest[-8:]} >= {"long-sequence-t1000", "long-sequence-slow-forget"}
    assert all(unit_cost(a) <= unit_cost(b) for a, b in zip(rest, rest[1:]))  # then cheapest first


SLEEPY = '''
import time
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter


class Sleepy(NumpyAdapter):
    name = "sleepy"

    def prepare(self, problem):
        forward = super().prepare(problem)

        def call():
            time.sleep(0.02)
            return forward()
        return call
'''


def test_cli_budget_stops_and_says_what_it_left_out(tmp_path, capsys):
    (tmp_path / "sleepy.py").write_text(SLEEPY)
    spec = f"{tmp_path / 'sleepy.py'}:Sleepy"
    args = ["run", "--impl", spec, "-k", "lengths", "--check", "forward", "--check", "determinism",
            "--budget", "0.1", "--out", str(tmp_path / "out")]
    assert cli_main(args) == 1  # everything that ran passed, but the run is incomplete
    captured = capsys.readouterr()
    assert "incomplete: --budget 0.1 s spent:" in captured.out and "--allow-incomplete" in captured.err
    document = results.read(tmp_path / "out" / "results.json")
    left = [r for r in document["records"] if r["message"].startswith("not run (--budget)")]
    assert left and {r["status"] for r in left} == {"skipped"}
    assert document["settings"]["budget"]["units_not_run"] == len({(r["case"], r["dtype"]) for r in left}) > 0
    assert "not run (--budget): the time budget of 0.1 s was spent" in (tmp_path / "out" / "correctness.md").read_text()
    assert not any(r["status"] in ("fail", "error") for r in document["records"])
    assert cli_main(args + ["--allow-incomplete", "-q"]) == 0


def test_quick_plan_bounds_the_cases_and_still_reaches_every_trait(library):
    numpy_lstm = NumpyAdapter()  # declares every feature and activation
    plan = quick_plan(library, adapters=[numpy_lstm])
    kept = [c for c in library if ("numpy", c.id) in plan.runs]
    assert "long-sequence-t1000" not in {c.id for c in kept}
    assert all(within_bounds(c) for c in kept)  # the library has a small case for each of its traits
    assert set().union(*map(case_traits, kept)) == set().union(*map(case_traits, library))
    for name, check in CHECKS.items():
        applicable = [c for c in kept if check.applies(c)]
        chosen = [c for c in applicable if name in plan.runs[("numpy", c.id)]]
        assert set().union(*map(case_traits, chosen)) == set().union(*map(case_traits, applicable)), name
        if name != "forward":
            assert len(chosen) < len(applicable) or len(applicable) <= 1, name
        assert f"runs on {len(chosen)} of the {len(applicable)} cases" in plan.reasons[("numpy", name)]
    assert all("forward" in plan.runs[("numpy", c.id)] for c in kept if c.expect_error is None)
    assert all("errors" in plan.runs[("numpy", c.id)] for c in kept if c.expect_error is not None)


def test_quick_plan_runs_the_repeated_checks_in_one_dtype(library):
    case = next(c for c in library if c.id == "random/t5b3i4h7/bias/given-state")
    float32_only = zoo.NoisyRuns()  # the zoo's control declares float32 and float64: pretend float32 only
    float32_only.capabilities = lambda: type(zoo.NoisyRuns().capabilities())(dtypes={"float32"}, features={
        "bias", "initial_state"})
    float32_only.name = "float32-only"
    adapters = [NumpyAdapter(), float32_only]
    plan = quick_plan([case], adapters=adapters)
    kept = {(u.adapter.name, u.dtype): [c.name for c in u.checks]
            for u in map(plan.keep, iter_units([case], adapters)) if u}
    assert kept[("numpy", "float32")] == ["forward", "dtypes"]
    assert "determinism" in kept[("numpy", "float64")] and "gradients" in kept[("numpy", "float64")]
    assert "determinism" in kept[("float32-only", "float32")]  # its own dtype when it lacks float64
    assert ("float32-only", "float64") in kept and kept[("float32-only", "float64")] == ["forward", "dtypes"]


def test_quick_plan_chooses_among_the_cases_each_adapter_supports(library):
    narrow = zoo.PaddingProcessed()  # no peepholes, clips, reverse, padding carry, ...
    plan = quick_plan(library, ["padding-invariance"], [NumpyAdapter(), narrow])
    chosen = {impl: {case for (i, case), runs in plan.runs.items() if i == impl and "padding-invariance" in runs
                     and declares_support(adapter, next(c for c in library if c.id == case))}
              for impl, adapter in (("numpy", NumpyAdapter()), (narrow.name, narrow))}
    assert chosen["numpy"] and chosen[narrow.name] and chosen["numpy"] != chosen[narrow.name]
    unsupported = [c for c in library if ("numpy", c.id) in plan.runs and not declares_support(narrow, c)]
    assert unsupported and all(plan.runs[(narrow.name, c.id)] == {"padding-invariance"} for c in unsupported)


def test_quick_plan_keeps_a_large_case_when_only_it_has_a_feature(library):
    adapters = [NumpyAdapter()]
    small = [c for c in library if c.id == "random/t5b3i4h7/bias/given-state"]
    large = [c for c in library if c.id == "multi-layer/l3"]  # three layers: over the bound
    assert small and large and not within_bounds(large[0])
    assert {case for _, case in quick_plan(small + large, adapters=adapters).runs} == {small[0].id, large[0].id}
    plain = [c for c in library if c.id == "long-sequence-t1000"]  # bias, group numerics: nothing new
    numerics = [c for c in library if c.group == "numerics" and within_bounds(c) and "bias" in c.config.features()
                and case_traits(c) >= case_traits(plain[0])][:1]
    assert numerics and {case for _, case in quick_plan(numerics + plain, adapters=adapters).runs} == {numerics[0].id}


def test_quick_profile_records_what_it_leaves_out(library):
    cases = [c for c in library if c.group == "lengths" or c.id == "long-sequence-t1000"
             or (c.group == "numerics" and within_bounds(c))]
    records = run("numpy", cases=cases, dtypes=["float32"], profile="quick", diagnose=False)
    left = [r for r in records if r["message"].startswith("not run (--profile quick)")]
    assert {r["status"] for r in left} == {"skipped"}
    assert {r["case"] for r in left if "over the quick bounds" in r["message"]} == {"long-sequence-t1000"}
    assert {r["check"] for r in left} >= {"determinism", "strided", "gradients"}
    # The same units and checks as a run without the profile, each run or recorded as left out.
    # That run leaves out training-parity (300 training steps, ~2 s): its units are those of the
    # one case it applies to, as iter_units makes them.
    training = CHECKS["training-parity"]
    full = run("numpy", cases=cases, dtypes=["float32"], diagnose=False, checks=[c for c in CHECKS if c != training.name])
    full_training = [(c.id, "float32", "numpy", training.name) for c in cases if training.applies(c)]
    assert full_training  # textbook-small-init, a numerics case within the bounds
    assert _keys(records) == sorted(_keys(full) + full_training)
    with pytest.raises(ValueError, match="profile 'fast'"):
        run("numpy", profile="fast")
    with pytest.raises(ValueError, match="positive number of seconds"):
        run("numpy", budget=0)


# Broken implementations and the one check each is caught by: the quick profile's subset for
# that check must still catch it.
CAUGHT_BY = [
    (TextbookSwappedRows, "forward"), (PerturbedAdapter, "forward"), (zoo.NoisyRuns, "determinism"),
    (zoo.StridesIgnored, "strided"), (zoo.RowsShareState, "batch-independence"),
    (zoo.CnGradientDropped, "gradients"), (zoo.PaddingProcessed, "padding-invariance"),
    (zoo.AcceptsEmptySequence, "errors"), (zoo.TimeReversed, "state-chaining"), (zoo.UpcastOutputs, "dtypes"),
]


@pytest.mark.parametrize("broken, check", CAUGHT_BY, ids=[f"{b.__name__}-{c}" for b, c in CAUGHT_BY])
def test_quick_profile_still_catches_broken_implementations(library, broken, check):
    records = run(broken(), cases=library, checks=[check], profile="quick", diagnose=False,
                  builtin_expectations=False)
    judged = [r for r in records if r["status"] in ("pass", "fail", "error")]
    assert any(r["status"] != "pass" for r in judged), f"{broken.__name__} passed the quick {check} check"
    if check != "forward":  # and the profile did leave most of that check out
        assert len([r for r in records if r["message"].startswith("not run (--profile quick)")]) > len(judged)


def test_plugin_budget_and_quick_profile(pytester, tmp_path):
    (tmp_path / "sleepy.py").write_text(SLEEPY)
    spec = f"{tmp_path / 'sleepy.py'}:Sleepy"
    common = ["--lstm-impl", spec, "-k", "lengths", "--lstm-check", "forward", "-rs"]
    result = pytester.runpytest(*common, "--lstm-budget", "0.1")
    assert result.ret == 1 and result.parseoutcomes().get("failed", 0) == 0
    result.stdout.fnmatch_lines(["lstm-conformance: incomplete: the time budget of 0.1 s was spent; * tests not run*",
                                 "SKIPPED * not run (--lstm-budget): the time budget of 0.1 s was spent*"])
    assert pytester.runpytest(*common, "--lstm-budget", "0.1", "--lstm-allow-incomplete").ret == 0
    quick = pytester.runpytest("--lstm-impl", "numpy", "-k", "long-sequence-t1000", "--lstm-profile", "quick", "-rs")
    quick.stdout.fnmatch_lines(["*not run (--lstm-profile quick): over the quick bounds*"])
    assert quick.ret == 0 and quick.parseoutcomes().get("passed", 0) == 0


def test_quick_profile_and_budget_through_worker_processes(library):
    cases = [c for c in library if c.group == "states"]

    def records(jobs, budget=None):
        with Session(RunOptions(), ["numpy"], lambda name: NumpyAdapter()) as session:
            outcome = usecases.run_correctness(session, usecases.Selection(cases=cases, profile="quick"), jobs=jobs,
                                               budget=budget, diagnose=False, keep_journal=False)
        return outcome, sorted((r["case"], r["dtype"], r["check"], r["status"], r["message"]) for r in outcome.records)

    serial, expected = records(1)
    parallel, got = records(2, Budget(1e9))  # -j 2: the plan travels to the workers
    assert got == expected and parallel.incomplete == ""
    spent, cut = records(2, Budget(1e-9))  # spent at once: the first unit to come back stops the run
    assert spent.incomplete and len(cut) == len(expected)
    assert sum(r[4].startswith("not run (--budget)") for r in cut) > 0
