"""issue 15, options 5 and 6 in the case format: `padding` (zeros | carry), `state_clip`,
`proj_clip` and `layer_norm` load from the library and from text, and bad values are refused
with the key that is wrong (SPEC.md §2, §3, §5, §7)."""
import textwrap

import pytest

from lstm_conformance.spec.loader import SpecError, load_cases, load_text
from lstm_conformance.spec.materialize import materialize
from lstm_conformance.spec.model import LSTMConfig, parameter_shapes


def case_text(options: str, inputs: str = "", parameters: str = "") -> str:
    text = textwrap.dedent(f"""\
        cases:
          - id: demo
            about: a test case
            shape: {{seq_len: 3, batch: 2, input_size: 2, hidden_size: 3}}
            options: {options}
        """)
    if inputs:
        text += f"    inputs: {inputs}\n"
    if parameters:
        text += f"    parameters: {parameters}\n"
    return text


def test_library_cases_of_the_options_load():
    ids = {c.id: c for c in load_cases()}
    assert ids["padding-carry"].config.padding == "carry"
    assert ids["padding-carry"].config.features() >= {"padding_carry"}
    assert ids["state-clip-binds"].config.state_clip == 0.5
    assert ids["proj-clip-binds"].config.proj_clip == 0.2
    assert ids["layer-norm"].config.layer_norm
    assert {c.group for c in ids.values() if c.config.layer_norm} == {"tf-options"}
    assert all(c.inputs.get("lengths") for c in ids.values() if c.config.padding == "carry")


def test_options_load_from_text_with_their_features():
    config = load_text(case_text("{padding: carry, state_clip: 0.5, proj_size: 2, proj_clip: 0.3, layer_norm: true}",
                                 inputs="{lengths: [3, 1]}"))[0].config
    assert config.features() >= {"padding_carry", "state_clip", "proj_clip", "layer_norm", "projection"}
    assert load_text(case_text("{padding: zeros}"))[0].config.features().isdisjoint({"padding_carry"})


def test_layer_norm_adds_its_coefficients_per_layer_and_direction():
    config = LSTMConfig(2, 3, num_layers=2, bidirectional=True, layer_norm=True)
    shapes = parameter_shapes(config)
    assert {k: v for k, v in shapes.items() if k.startswith("layer_norm")} == {
        "layer_norm_l0": (4, 3), "layer_norm_l0_reverse": (4, 3), "layer_norm_l1": (4, 3),
        "layer_norm_l1_reverse": (4, 3)}
    case = load_text(case_text("{layer_norm: true}", parameters="{layer_norm_*: {uniform: [2.0, 3.0]}}"))[0]
    gamma = materialize(case, "float64").params["layer_norm_l0"]
    assert gamma.shape == (4, 3) and gamma.min() >= 2.0
    # without a given spec, the coefficients are drawn around 1
    gamma = materialize(load_text(case_text("{layer_norm: true}"))[0], "float64").params["layer_norm_l0"]
    assert 0.5 <= gamma.min() and gamma.max() <= 1.5


@pytest.mark.parametrize("options, inputs, parameters, key", [
    ("{padding: sideways}", "{lengths: [3, 1]}", "", "options.padding"),
    ("{padding: carry}", "", "", "options.padding"),  # no lengths: nothing to carry over
    ("{state_clip: -1}", "", "", "options.state_clip"),
    ("{state_clip: 0}", "", "", "options.state_clip"),
    ("{state_clip: .inf}", "", "", "options.state_clip"),
    ("{proj_clip: 0.5}", "", "", "options.proj_clip"),  # no projection
    ("{proj_size: 2, proj_clip: .nan}", "", "", "options.proj_clip"),
    ("{proj_size: 2, proj_clip: -0.5}", "", "", "options.proj_clip"),
    ("{layer_norm: 1}", "", "", "options.layer_norm"),
    ("{}", "", "{layer_norm_*: {uniform: [0, 1]}}", "parameters.layer_norm_*"),  # no layer norm, no coefficients
    ("{layer_norm: true}", "", "{layer_norm_l0: [[1, 1, 1], [1, 1, 1]]}", "parameters.layer_norm_l0"),
])
def test_bad_values_are_refused_with_their_key(options, inputs, parameters, key):
    with pytest.raises(SpecError) as err:
        load_text(case_text(options, inputs, parameters))
    assert err.value.key == key, err.value


@pytest.mark.parametrize("changes, message", [
    ({"padding": "sideways"}, "padding must be one of"),
    ({"state_clip": 0.0}, "state_clip must be a positive"),
    ({"proj_clip": 0.5}, "proj_clip needs a projection"),
])
def test_the_model_refuses_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        LSTMConfig(2, 3, **changes)
