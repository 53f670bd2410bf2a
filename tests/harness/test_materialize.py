"""Arrays made from a case: deterministic from the seed, rounded to the tested dtype."""
import numpy as np
import pytest

from lstm_conformance.spec.loader import load_text
from lstm_conformance.spec.materialize import materialize, round_to_dtype

CASE = """
cases:
  - id: c
    about: x
    seed: 5
    shape: {seq_len: 4, batch: 3, input_size: 2, hidden_size: 3}
    inputs: {h0: {uniform: [-1, 1]}, c0: {normal: [0, 2]}}
    parameters: {weight_hh_l0: {fill: 0.5}, "bias_*": zeros, weight_ih_l0: {uniform: [-1, 1], block_scale: [1, 2, 3, 4]}}
"""


def test_same_seed_same_arrays_and_inputs_rounded_to_dtype():
    case = load_text(CASE)[0]
    a, b = materialize(case, "float64"), materialize(case, "float64")
    np.testing.assert_array_equal(a.x, b.x)
    p32 = materialize(case, "float32")
    assert p32.x.dtype == np.float64
    np.testing.assert_array_equal(p32.x, a.x.astype(np.float32).astype(np.float64))
    assert not np.array_equal(p32.x, a.x)  # rounding really happened


def test_data_specs_are_honoured():
    p = materialize(load_text(CASE)[0], "float64")
    assert p.h0.shape == (1, 3, 3) and p.c0.shape == (1, 3, 3)
    assert np.all(p.params["weight_hh_l0"] == 0.5)
    assert np.all(p.params["bias_ih_l0"] == 0) and np.all(p.params["bias_hh_l0"] == 0)
    w = p.params["weight_ih_l0"]
    assert np.abs(w[9:]).max() > 1.0 and np.abs(w[:3]).max() <= 1.0  # block o scaled by 4, block i by 1


@pytest.mark.parametrize("value, expected", [(1.0 + 2 ** -9, 1.0), (1.0 + 3 * 2 ** -9, 1.0 + 2 ** -7), (-3.0, -3.0)])
def test_bfloat16_rounding_is_nearest_even(value, expected):
    assert round_to_dtype(np.array([value]), "bfloat16")[0] == expected
