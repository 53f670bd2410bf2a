"""The reference's activations against ONNX's formulas, and their derivatives."""
import math
import warnings

import numpy as np
import pytest

from lstm_conformance.reference import activations
from lstm_conformance.spec.model import Activation

# (activation, x, value by ONNX's formula evaluated with the math module)
FORMULA_POINTS = [
    (Activation("relu"), -0.7, 0.0), (Activation("relu"), 0.7, 0.7),
    (Activation("tanh"), 0.3, (1 - math.exp(-0.6)) / (1 + math.exp(-0.6))),
    (Activation("sigmoid"), -1.2, 1 / (1 + math.exp(1.2))),
    (Activation("affine"), 2.5, 2.5),  # defaults alpha 1, beta 0
    (Activation("affine", 0.5, -1.0), 2.5, 0.25),
    (Activation("leaky_relu"), -2.0, -0.02),  # default alpha 0.01
    (Activation("leaky_relu", 0.3), -2.0, -0.6), (Activation("leaky_relu", 0.3), 2.0, 2.0),
    (Activation("thresholded_relu"), 0.5, 0.0),  # default alpha 1.0
    (Activation("thresholded_relu"), 1.5, 1.5),
    (Activation("thresholded_relu"), 1.0, 1.0),  # LSTM text: x >= alpha
    (Activation("thresholded_relu", 0.2), 0.1, 0.0),
    (Activation("scaled_tanh", 2.0, 0.5), 1.0, 2.0 * math.tanh(0.5)),
    (Activation("hard_sigmoid"), 0.0, 0.5), (Activation("hard_sigmoid"), 1.0, 0.7),  # defaults 0.2, 0.5
    (Activation("hard_sigmoid"), 3.0, 1.0), (Activation("hard_sigmoid"), -3.0, 0.0),
    (Activation("hard_sigmoid", 0.5, 0.1), 1.0, 0.6),
    (Activation("elu"), -1.0, math.exp(-1.0) - 1), (Activation("elu", 0.5), -2.0, 0.5 * (math.exp(-2.0) - 1)),
    (Activation("elu"), 2.0, 2.0),
    (Activation("softsign"), -3.0, -0.75),
    (Activation("softplus"), 0.4, math.log(1 + math.exp(0.4))),
    (Activation("identity"), -4.25, -4.25),
]


@pytest.mark.parametrize("act, x, expected", FORMULA_POINTS, ids=lambda v: str(v))
def test_value_follows_onnx_formula(act, x, expected):
    assert activations.apply(act, np.array([x]))[0] == pytest.approx(expected, rel=1e-15, abs=1e-300)


SMOOTH_POINTS = np.array([-2.3, -0.9, -0.31, 0.27, 0.8, 1.7, 3.1])
ALL_WITH_PARAMS = [Activation("identity"), Activation("tanh"), Activation("sigmoid"), Activation("relu"),
                   Activation("hard_sigmoid"), Activation("hard_sigmoid", 0.4, 0.3), Activation("affine", 0.6, 0.2),
                   Activation("leaky_relu"), Activation("leaky_relu", 0.25), Activation("thresholded_relu", 0.5),
                   Activation("thresholded_relu"), Activation("scaled_tanh", 1.7, 0.6), Activation("elu"),
                   Activation("elu", 0.4), Activation("softsign"), Activation("softplus")]


def test_every_onnx_activation_is_covered():
    assert {a.name for a in ALL_WITH_PARAMS} == set(activations.NAMES)


@pytest.mark.parametrize("act", ALL_WITH_PARAMS, ids=str)
def test_derivative_matches_central_differences(act):
    # the points avoid every kink (0, thresholds, hard_sigmoid's corners at -2.5, 2.5 / -0.75, 1.75)
    eps = 1e-6
    numeric = (activations.apply(act, SMOOTH_POINTS + eps) - activations.apply(act, SMOOTH_POINTS - eps)) / (2 * eps)
    np.testing.assert_allclose(activations.derivative(act, SMOOTH_POINTS), numeric, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("act", ALL_WITH_PARAMS, ids=str)
def test_derivative_from_the_value_is_the_derivative_from_z(act):
    """The backward pass hands derivative() the forward's act(z): the same numbers, bit for bit."""
    z = np.concatenate([SMOOTH_POINTS, [-40.0, 0.0, 40.0]])
    assert np.array_equal(activations.derivative(act, z, activations.apply(act, z)), activations.derivative(act, z))


@pytest.mark.parametrize("act", ALL_WITH_PARAMS, ids=str)
def test_no_overflow_nan_or_warning_at_large_inputs(act):
    z = np.array([-1000.0, -745.0, -40.0, 40.0, 745.0, 1000.0])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        value, slope = activations.apply(act, z), activations.derivative(act, z)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(slope))


def test_logistic_saturates_exactly_and_keeps_symmetry():
    z = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    s = activations.sigmoid(z)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    np.testing.assert_allclose(s + activations.sigmoid(-z), 1.0, rtol=0, atol=1e-16)
    assert s[1] == pytest.approx(math.exp(-30) / (1 + math.exp(-30)), rel=1e-15)  # tiny tail is not lost


def test_softplus_is_exact_in_the_tails():
    assert activations.softplus(np.array([1000.0]))[0] == 1000.0
    assert activations.softplus(np.array([-50.0]))[0] == pytest.approx(math.exp(-50), rel=1e-14)


@pytest.mark.parametrize("act, z, expected", [
    (Activation("relu"), 0.0, 1.0),
    (Activation("thresholded_relu", 0.5), 0.5, 1.0),
    (Activation("hard_sigmoid"), 2.5, 0.2),
    (Activation("hard_sigmoid"), -3.0, 0.0),
    (Activation("leaky_relu", 0.1), -1e-9, 0.1),
], ids=str)
def test_derivative_conventions_at_kinks(act, z, expected):
    assert activations.derivative(act, np.array([z]))[0] == expected


@pytest.mark.parametrize("act, message", [
    (Activation("scaled_tanh"), "scaled_tanh needs both alpha and beta"),
    (Activation("scaled_tanh", 1.0), "scaled_tanh needs both alpha and beta"),
    (Activation("gelu"), "unknown activation 'gelu'"),
], ids=str)
def test_unusable_activations_are_rejected(act, message):
    with pytest.raises(ValueError, match=message):
        activations.apply(act, np.zeros(2))
    with pytest.raises(ValueError, match=message):
        activations.derivative(act, np.zeros(2))
