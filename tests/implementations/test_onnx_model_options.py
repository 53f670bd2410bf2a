"""The ONNX route for issue 15's options: the node's attributes (direction, the activation
list, the flat alpha / beta lists) and the converter they come from."""
import pytest

from lstm_conformance.implementations.onnx_model import OnnxLSTM
from lstm_conformance.reference.layouts.onnx import direction_attribute, direction_from_onnx
from lstm_conformance.spec.loader import load_cases
from lstm_conformance.spec.materialize import materialize

CASES = {c.id: c for c in load_cases()}

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
