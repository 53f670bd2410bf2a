"""The ONNX route for issue 15's options: the node's attributes (direction, the activation
list, the flat alpha / beta lists) and the converter they come from."""
import pytest

from lstm_conformance.implementations.onnx_model import OnnxLSTM
from lstm_conformance.reference.layouts.onnx import direction_attribute, direction_from_onnx
from lstm_conformance.spec.materialize import materialize
from fixtures.library import builtin_cases

CASES = {c.id: c for c in builtin_cases()}

pytest.importorskip("onnx")


def node(case_id, layer=0):
    return OnnxLSTM(materialize(CASES[case_id], "float32")).node_attributes(layer)


def test_reverse_case_is_one_node_per_layer_with_direction_reverse():
    attrs = [node("reverse-multi-layer", k) for k in range(2)]
    assert [a["direction"] for a in attrs] == [b"reverse", b"reverse"]
    assert node("direction-bidirectional")["direction"] == b"bidirectional"
    assert node("reverse")["direction"] == b"reverse"


@pytest.mark.parametrize("name", ["forward", "reverse", "bidirectional"])
def test_direction_round_trips(name):
    config = CASES["reverse"].config.with_options(direction=name)
    assert direction_from_onnx(direction_attribute(config).encode()) == name


def test_unknown_direction_attribute_is_refused():
    with pytest.raises(ValueError, match="backward"):
        direction_from_onnx("backward")



def test_per_direction_activations_are_six_with_their_own_alpha_and_beta():
    attrs = node("bidi-both-directions-own-activations")
    assert [a.decode() for a in attrs["activations"]] == ["HardSigmoid", "Elu", "Affine",
                                                          "Sigmoid", "LeakyRelu", "ScaledTanh"]
    # consumed in order by the activations that take a value (SPEC.md §4)
    assert attrs["activation_alpha"] == pytest.approx([0.3, 0.5, 0.8, 0.2, 1.5])
    assert attrs["activation_beta"] == pytest.approx([0.4, 0.1, 0.6])
    for layer in range(2):
        assert len(node("bidi-reverse-activations-layers", layer)["activations"]) == 6


# ----------------------------------------------------------------------------- flat alpha / beta lists
from lstm_conformance.reference.layouts.onnx import (activations_from_onnx, activations_to_onnx,  # noqa: E402
                                                     config_activations)
from lstm_conformance.spec.model import Activation as A  # noqa: E402

FLAT = [c for c in CASES.values() if c.group == "onnx-activation-lists"]


def test_flat_lists_case_group_exists():
    assert len(FLAT) >= 3


@pytest.mark.parametrize("case", FLAT, ids=lambda c: c.id)
def test_the_two_readings_differ_on_each_case_and_consumed_round_trips(case):
    acts = config_activations(case.config)
    attrs = activations_to_onnx(acts)
    lists = attrs["activations"], attrs.get("activation_alpha"), attrs.get("activation_beta")
    assert activations_from_onnx(*lists, reading="consumed") == acts
    assert activations_from_onnx(*lists, reading="positional") != acts
    assert node(case.id)["activation_alpha"] == pytest.approx(attrs["activation_alpha"])


def test_positional_writing_round_trips_in_its_own_reading():
    acts = [A("sigmoid"), A("leaky_relu", 0.3), A("affine", 2.0, 0.5)]
    attrs = activations_to_onnx(acts, reading="positional")
    assert attrs["activation_alpha"] == pytest.approx([0.0, 0.3, 2.0])
    assert attrs["activation_beta"] == pytest.approx([0.0, 0.0, 0.5])
    assert activations_from_onnx(attrs["activations"], attrs["activation_alpha"], attrs["activation_beta"],
                                 reading="positional") == acts


def test_unset_values_before_a_set_one_are_written_as_onnx_defaults_and_trailing_ones_left_out():
    attrs = activations_to_onnx([A("hard_sigmoid"), A("elu", 0.5), A("leaky_relu")])
    assert attrs["activation_alpha"] == pytest.approx([0.2, 0.5])  # hard_sigmoid's default, elu's; leaky's left out
    assert "activation_beta" not in attrs
    back = activations_from_onnx(attrs["activations"], attrs["activation_alpha"])
    assert back == [A("hard_sigmoid", 0.2, 0.5), A("elu", 0.5), A("leaky_relu", 0.01)]


def test_scaled_tanh_needs_its_values_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="ScaledTanh|scaled_tanh"):
        activations_to_onnx([A("sigmoid"), A("scaled_tanh"), A("tanh")])
    with pytest.raises(ValueError, match="Swish"):
        activations_from_onnx(["Sigmoid", "Swish", "Tanh"])
    with pytest.raises(ValueError, match="reading"):
        activations_from_onnx(["Sigmoid"], reading="by-name")
