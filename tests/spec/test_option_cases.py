"""The options of issue 15 in the case format: the loader accepts their library cases and
refuses contradictions and misplaced keys, naming the case and the key (SPEC.md §2-§4)."""
import textwrap

import pytest

from lstm_conformance.spec.loader import SpecError, load_cases, load_text


def case_text(options: str, extra: str = "") -> str:
    return textwrap.dedent(f"""\
        cases:
          - id: demo
            about: a test case
            shape: {{seq_len: 3, batch: 2, input_size: 2, hidden_size: 3}}
            options: {options}
        """) + extra


def test_library_cases_of_the_new_options_load():
    ids = {c.id: c for c in load_cases()}
    assert ids["reverse"].config.direction == "reverse"
    assert ids["direction-bidirectional"].config.bidirectional
    assert ids["direction-forward-spelled"].config.direction == "forward"


@pytest.mark.parametrize("options", ["{bidirectional: true, direction: reverse}",
                                     "{bidirectional: true, direction: forward}",
                                     "{bidirectional: false, direction: bidirectional}"])
def test_contradicting_direction_and_bidirectional_are_refused(options):
    with pytest.raises(SpecError, match="contradicts") as err:
        load_text(case_text(options))
    assert err.value.case_id == "demo" and err.value.key == "options.direction"


def test_agreeing_spellings_give_one_configuration():
    one = load_text(case_text("{bidirectional: true, direction: bidirectional}"))[0].config
    other = load_text(case_text("{bidirectional: true}"))[0].config
    assert one == other and one.direction == "bidirectional"


def test_unknown_direction_is_refused():
    with pytest.raises(SpecError, match="backward"):
        load_text(case_text("{direction: backward}"))


def test_c_entering_needs_the_forward_direction():
    expect = "    expect: [{output: c_entering, values: [[[0, 0, 0], [0, 0, 0]]]}]\n"
    with pytest.raises(SpecError, match="forward direction"):
        load_text(case_text("{direction: reverse}", expect))


def test_activations_reverse_role_left_out_is_the_forward_directions():
    text = case_text("{bidirectional: true, activations: {cell: relu}, activations_reverse: {hidden: softsign}}")
    config = load_text(text)[0].config
    assert [a.name for a in config.direction_activations(0)] == ["sigmoid", "relu", "tanh"]
    assert [a.name for a in config.direction_activations(1)] == ["sigmoid", "relu", "softsign"]


@pytest.mark.parametrize("options, key", [
    ("{activations_reverse: {cell: relu}}", "options.activations_reverse"),
    ("{direction: reverse, activations_reverse: {cell: relu}}", "options.activations_reverse"),
    ("{bidirectional: true, activations_reverse: {cell: swish}}", "options.activations_reverse.cell"),
    ("{bidirectional: true, activations_reverse: {cell: scaled_tanh}}", "options.activations_reverse.cell"),
    ("{bidirectional: true, activations_reverse: {cell: {name: elu, alpha: .nan}}}",
     "options.activations_reverse.cell.alpha"),
])
def test_bad_activations_reverse_is_refused_with_its_key(options, key):
    with pytest.raises(SpecError) as err:
        load_text(case_text(options))
    assert err.value.key == key, err.value


def test_peephole_output_state_needs_peepholes_and_a_known_value():
    assert load_text(case_text("{peepholes: true, peephole_output_state: previous}"))[0].config.features() >= {
        "peepholes", "peephole_output_previous"}
    with pytest.raises(SpecError) as err:
        load_text(case_text("{peephole_output_state: previous}"))
    assert err.value.key == "options.peephole_output_state"
    with pytest.raises(SpecError, match="entering"):
        load_text(case_text("{peepholes: true, peephole_output_state: entering}"))
