"""fuzz: hypothesis finds a seeded defect and shrinks it to a tiny problem, written as a YAML
case that replays the failure; a correct implementation passes a few hundred problems."""
import contextlib
import io

import pytest

from lstm_conformance.cli import main
from lstm_conformance.harness import fuzz
from lstm_conformance.harness.registry import load_adapter
from lstm_conformance.spec.loader import load_file

MUTANT = "lstm_conformance.mutants.zoo:ForgetPathDropped"  # c' = i ⊙ g: the forget path is missing


@pytest.fixture(scope="module")
def mutant_fuzzed(tmp_path_factory):
    """`lstm-conformance fuzz` on MUTANT, run once for the two tests below (they only read it):
    its exit status, what it printed, its output folder and the FuzzResult the command got."""
    out, results, search_and_shrink = tmp_path_factory.mktemp("fuzz"), [], fuzz.fuzz

    def recording(*args, **kwargs):
        results.append(search_and_shrink(*args, **kwargs))
        return results[-1]

    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()) as printed:
        patch.setattr(fuzz, "fuzz", recording)
        status = main(["fuzz", "--impl", MUTANT, "--examples", "100", "--seed", "0", "--out", str(out)])
    result, = results
    return status, printed.getvalue(), out, result


def test_a_wrong_implementation_is_found_and_shrunk_to_a_tiny_replayable_case(mutant_fuzzed):
    *_, result = mutant_fuzzed
    assert not result.passed and result.failure["status"] == "fail"
    shape = result.problem
    assert shape["seq_len"] <= 2 and shape["batch"] == 1 and shape["hidden_size"] <= 2, shape
    assert "forget path dropped" in result.failure["message"]  # the diagnosis of the shrunk problem
    case, = load_file(result.case_file)  # a valid spec file, literal inputs and parameters
    assert case.inputs["x"]["literal"] and all("literal" in p for p in case.parameters.values())
    assert result.command == f"lstm-conformance run --impl {MUTANT} --cases {result.case_file}"
    replay = result.command.split()[1:] + ["--check", "forward", "-q"]
    assert main(replay) == 1  # the written case fails again
    assert main(["run", "--impl", "numpy", "--cases", str(result.case_file), "-q"]) == 0  # and only the defect fails it


def test_a_correct_implementation_passes_a_few_hundred_problems(tmp_path):
    result = fuzz.fuzz(load_adapter("numpy"), "numpy", fuzz.Search(examples=300, seed=1), tmp_path)
    assert result.passed and result.examples >= 250, result.text()
    assert not list(tmp_path.iterdir())


def test_the_command_prints_the_replay_and_exits_1(mutant_fuzzed):
    status, out, folder, _ = mutant_fuzzed
    assert status == 1
    assert "replay it with:" in out and f"--cases {folder}" in out


def test_the_strategy_keeps_to_the_capabilities():
    from hypothesis import given, settings

    adapter = load_adapter("torch-lstm")
    caps = adapter.capabilities()

    @settings(max_examples=60, deadline=None, database=None)
    @given(fuzz.fuzz_cases(caps, fuzz.Search()))
    def check(case):
        from lstm_conformance.spec.materialize import materialize
        assert adapter.unsupported_reason(materialize(case, case.dtypes[0])) is None

    check()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4])
def test_numpy_passes_thousands_of_problems(tmp_path, seed):
    result = fuzz.fuzz(load_adapter("numpy"), "numpy", fuzz.Search(examples=1500, seed=seed, max_size=8), tmp_path)
    assert result.passed, result.text()


NEWEST_OPTIONS = {  # feature name -> the option the strategy sets for it
    "padding_carry": ("padding", "carry"), "state_clip": ("state_clip", None), "proj_clip": ("proj_clip", None),
    "layer_norm": ("layer_norm", True), "peephole_output_previous": ("peephole_output_state", "previous"),
}


class EveryOptionDrawn(Exception):
    """Raised by the draw below once it has seen every newest option."""


def test_the_strategy_draws_each_newest_option_where_declared():
    from hypothesis import Phase, given, settings

    caps = load_adapter("numpy").capabilities()  # declares every feature
    seen = {}

    @settings(max_examples=300, database=None, deadline=None, phases=[Phase.generate])
    @given(fuzz.fuzz_cases(caps, fuzz.Search()))
    def draw(case):
        for feature in case.config.features() & set(NEWEST_OPTIONS):
            seen.setdefault(feature, case)
        if len(seen) == len(NEWEST_OPTIONS):
            raise EveryOptionDrawn  # the search stops here (no shrink phase); at most 300 draws, as before

    try:
        draw()
    except EveryOptionDrawn:
        pass
    assert set(seen) == set(NEWEST_OPTIONS)
    for feature, case in seen.items():
        option, value = NEWEST_OPTIONS[feature]
        assert option in case.options and (value is None or case.options[option] == value)
    assert "lengths" in seen["padding_carry"].inputs  # carry means something only past a row's length
    assert seen["proj_clip"].options["proj_size"] >= 1


class StateClipIgnored:
    """NumPy's LSTM, except that TF's state_clip is dropped (the cell state is never clipped)."""
    name = "numpy-state-clip-ignored"

    def __init__(self):
        from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
        self._numpy = NumpyAdapter()

    def capabilities(self):
        return self._numpy.capabilities()

    def prepare(self, problem):
        import dataclasses
        unclipped = dataclasses.replace(problem.config, state_clip=None)
        return self._numpy.prepare(dataclasses.replace(problem, config=unclipped))

    def to_numpy(self, result):
        return self._numpy.to_numpy(result)


def test_a_wrong_newest_option_is_found_and_shrunk(tmp_path):
    from lstm_conformance.adapter import with_defaults

    adapter = with_defaults(StateClipIgnored())
    result = fuzz.fuzz(adapter, "state-clip-ignored", fuzz.Search(examples=200, seed=0), tmp_path)
    assert not result.passed and "state_clip" in result.problem, result.text()
    shape = result.problem
    assert shape["seq_len"] <= 3 and shape["batch"] <= 2 and shape["hidden_size"] <= 3, shape
    assert "layer_norm" not in shape and "proj_clip" not in shape  # shrunk to the one option that matters
