"""ONNX LSTM layout: gate and peephole order, round trips, and forward passes in ONNX terms
(our transcription of the spec's equations, and ONNX's own reference runtime when present)."""
import numpy as np
import pytest
from layout_formulas import onnx_forward, random_cell, swap_input_and_forget
from round_trips import assert_same_arrays

from lstm_conformance.reference import lstm_forward
from lstm_conformance.reference.layouts import LayoutError, from_onnx, suffixed, to_onnx
from lstm_conformance.reference.layouts.onnx import y_from_canonical, y_to_canonical
from lstm_conformance.spec.model import LSTMConfig

H = 5


def bidirectional_params(rng, input_size=3, bias=True, peepholes=True, layer=0):
    params = {}
    for direction in (0, 1):
        params.update(suffixed(random_cell(rng, input_size, H, bias=bias, peepholes=peepholes), layer, direction))
    return params


def test_blocks_are_in_onnx_order_iofc_and_peepholes_iof():
    params = bidirectional_params(np.random.default_rng(1))
    t = to_onnx(params)
    assert t["W"].shape == (2, 4 * H, 3) and t["R"].shape == (2, 4 * H, H)
    assert t["B"].shape == (2, 8 * H) and t["P"].shape == (2, 3 * H)
    w = params["weight_ih_l0_reverse"]  # canonical blocks i, f, g, o
    for onnx_block, canonical_block in enumerate((0, 3, 1, 2)):  # ONNX i, o, f, c
        np.testing.assert_array_equal(t["W"][1, onnx_block * H:(onnx_block + 1) * H],
                                      w[canonical_block * H:(canonical_block + 1) * H])
    # B = [Wb, Rb]: the second half holds bias_hh, again in iofc order (its 2nd block is o).
    np.testing.assert_array_equal(t["B"][0, 5 * H:6 * H], params["bias_hh_l0"][3 * H:])
    # P rows i, o, f from canonical rows i, f, o.
    np.testing.assert_array_equal(t["P"][0, H:2 * H], params["peephole_l0"][2])
    np.testing.assert_array_equal(t["P"][0, 2 * H:], params["peephole_l0"][1])


def test_canonical_to_onnx_and_back_is_exact():
    params = bidirectional_params(np.random.default_rng(2))
    assert_same_arrays(from_onnx(to_onnx(params)), params)


def test_onnx_to_canonical_and_back_is_exact_for_any_layer():
    rng = np.random.default_rng(3)
    tensors = {"W": rng.normal(size=(1, 8, 6)), "R": rng.normal(size=(1, 8, 2)), "B": rng.normal(size=(1, 16))}
    params = from_onnx(tensors, layer=2)
    assert set(params) == {"weight_ih_l2", "weight_hh_l2", "bias_ih_l2", "bias_hh_l2"}
    assert_same_arrays(to_onnx(params, layer=2), tensors)


def test_optional_bias_and_peepholes_are_left_out():
    params = bidirectional_params(np.random.default_rng(4), bias=False, peepholes=False)
    assert set(to_onnx(params)) == {"W", "R"}
    assert set(from_onnx(to_onnx(params))) == set(params)


def run_problem(rng, params):
    T, B = 6, 3
    x = rng.uniform(-1, 1, (T, B, 3))
    h0, c0 = rng.uniform(-1, 1, (2, B, H)), rng.uniform(-2, 2, (2, B, H))
    config = LSTMConfig(input_size=3, hidden_size=H, bidirectional=True, peepholes=True)
    return x, h0, c0, lstm_forward(config, x, params, h0, c0)


def test_forward_in_onnx_terms_matches_the_reference():
    rng = np.random.default_rng(5)
    params = bidirectional_params(rng)
    x, h0, c0, expected = run_problem(rng, params)
    y, y_h, y_c = onnx_forward(to_onnx(params), x, h0, c0)
    np.testing.assert_allclose(y_to_canonical(y), expected.y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y_h, expected.h_n, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y_c, expected.c_n, rtol=1e-12, atol=1e-12)
    y_wrong, _, _ = onnx_forward(to_onnx(swap_input_and_forget(params)), x, h0, c0)
    assert np.abs(y_to_canonical(y_wrong) - expected.y).max() > 1e-2


def test_onnx_reference_runtime_agrees_with_the_converted_parameters():
    """ONNX's own Python reference (onnx.reference) runs the converted node: an opinion on the
    layout independent of ours. It implements W, R, B, P, initial states and direction."""
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(6)
    params = bidirectional_params(rng)
    x, h0, c0, expected = run_problem(rng, params)
    tensors = to_onnx(params)
    names = ["X", "W", "R", "B", "", "initial_h", "initial_c", "P"]
    node = helper.make_node("LSTM", names, ["Y", "Y_h", "Y_c"], hidden_size=H, direction="bidirectional")
    graph = helper.make_graph(
        [node], "lstm", [helper.make_tensor_value_info(n, TensorProto.DOUBLE, None) for n in names if n],
        [helper.make_tensor_value_info(n, TensorProto.DOUBLE, None) for n in ("Y", "Y_h", "Y_c")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    y, y_h, y_c = ReferenceEvaluator(model).run(None, {"X": x, "initial_h": h0, "initial_c": c0, **tensors})
    np.testing.assert_allclose(y_to_canonical(y), expected.y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y_h, expected.h_n, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y_c, expected.c_n, rtol=1e-10, atol=1e-12)


def test_y_layout_conversion():
    y = np.arange(4 * 2 * 3 * 5, dtype=float).reshape(4, 2, 3, 5)  # [T, D, B, H]
    canonical = y_to_canonical(y)
    assert canonical.shape == (4, 3, 10)
    np.testing.assert_array_equal(canonical[2, 1, :5], y[2, 0, 1])   # forward half first
    np.testing.assert_array_equal(canonical[2, 1, 5:], y[2, 1, 1])   # then the reverse direction
    np.testing.assert_array_equal(y_from_canonical(canonical, 2), y)


def test_refusals_name_the_problem():
    cell = random_cell(np.random.default_rng(7), 3, H)
    cell["weight_hr"], cell["weight_hh"] = np.ones((2, H)), np.ones((4 * H, 2))
    with pytest.raises(LayoutError, match="ONNX LSTM has no place for a projection"):
        to_onnx(suffixed(cell))
    with pytest.raises(LayoutError, match=r"ONNX LSTM: B has shape \(1, 10\), expected \(1, 16\)"):
        from_onnx({"W": np.zeros((1, 8, 3)), "R": np.zeros((1, 8, 2)), "B": np.zeros((1, 10))})
    with pytest.raises(LayoutError, match="no weight_ih_l1"):
        to_onnx(suffixed(random_cell(np.random.default_rng(8))), layer=1)
    lopsided = bidirectional_params(np.random.default_rng(9))
    del lopsided["peephole_l0_reverse"]
    with pytest.raises(LayoutError, match="peephole is present in one direction only"):
        to_onnx(lopsided)
