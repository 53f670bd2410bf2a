"""TensorFlow block-LSTM layout (BlockLSTMV2 "ifco", BlockLSTM / LSTMBlockCell "icfo"): round
trips, refusals, and a forward pass written in the op's own terms (its documented equations)."""
import numpy as np
import pytest
from layout_formulas import assert_forward_matches_reference, config_for, random_cell, sigmoid
from round_trips import assert_same_arrays, assert_weights_and_bias_sum_kept

from lstm_conformance.reference import lstm_forward
from lstm_conformance.reference.layouts import LayoutError, from_tf_block, suffixed, to_tf_block

# The op's gate names in its own order; "c" is the cell input (canonical g).
OP_ORDER = {"ifco": "ifco", "icfo": "icfo"}


def block_lstm_forward(w: dict, x, h, c, gate_layout="ifco", state_clip=0.0):
    """The LSTMBlockCell equations of the TF op docs: xh = [x, h_prev]; gates = xh @ w + b in
    `gate_layout`; peepholes wci, wcf on cs_prev, wco on the new cs; cs clipped when
    cell_clip > 0, before the output gate's peephole and tanh."""
    ys = []
    for x_t in x:
        z = np.concatenate([x_t, h], axis=-1) @ w["w"] + w.get("b", 0.0)
        blocks = dict(zip(OP_ORDER[gate_layout], np.split(z, 4, axis=-1)))
        i = sigmoid(blocks["i"] + c * w.get("wci", 0.0))
        f = sigmoid(blocks["f"] + c * w.get("wcf", 0.0))
        c = np.tanh(blocks["c"]) * i + c * f
        if state_clip > 0:
            c = np.clip(c, -state_clip, state_clip)
        o = sigmoid(blocks["o"] + c * w.get("wco", 0.0))
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys), h, c


@pytest.mark.parametrize("gate_layout", ["ifco", "icfo"])
def test_forward_in_the_ops_terms_matches_the_reference(gate_layout):
    assert_forward_matches_reference(lambda cell: to_tf_block(cell, gate_layout),
                                     lambda w, x, h, c: block_lstm_forward(w, x, h, c, gate_layout), seed=11)


def test_peepholes_and_state_clip_match_the_reference():
    rng = np.random.default_rng(12)
    cell = random_cell(rng, peepholes=True)
    cell["weight_ih"] *= 3  # big pre-activations so that the clip binds
    x, h0, c0 = rng.uniform(-1, 1, (6, 3, 4)), rng.uniform(-1, 1, (3, 6)), rng.uniform(-2, 2, (3, 6))
    expected = lstm_forward(config_for(cell, state_clip=0.7), x, suffixed(cell), h0[None], c0[None])
    y, h, c = block_lstm_forward(to_tf_block(cell), x, h0, c0, state_clip=0.7)
    assert np.abs(c).max() == pytest.approx(0.7)  # the clip binds
    np.testing.assert_allclose(y, expected.y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c, expected.c_n[0], rtol=1e-12, atol=1e-12)


def test_blocks_sit_where_the_op_reads_them():
    cell = random_cell(np.random.default_rng(13), input_size=3, hidden_size=5, peepholes=True)
    v2, v1 = to_tf_block(cell, "ifco"), to_tf_block(cell, "icfo")
    assert v2["w"].shape == (8, 20)
    # rows 0..I-1 are the input weights, rows I.. the recurrent ones
    np.testing.assert_array_equal(v2["w"][:3, 10:15], cell["weight_ih"][10:15].T)  # ifco: g third
    np.testing.assert_array_equal(v1["w"][3:, 5:10], cell["weight_hh"][10:15].T)   # icfo: g second
    np.testing.assert_array_equal(v1["b"][10:15], cell["bias_ih"][5:10] + cell["bias_hh"][5:10])  # icfo: f third
    np.testing.assert_array_equal(v2["wco"], cell["peephole"][2])


@pytest.mark.parametrize("gate_layout", ["ifco", "icfo"])
def test_round_trips(gate_layout):
    cell = random_cell(np.random.default_rng(14), peepholes=True)
    back = from_tf_block(to_tf_block(cell, gate_layout), input_size=4, gate_layout=gate_layout)
    assert_weights_and_bias_sum_kept(back, cell)  # the peepholes included
    rng = np.random.default_rng(15)
    tf = {"w": rng.normal(size=(7, 12)), "b": rng.normal(size=12)}
    assert_same_arrays(to_tf_block(from_tf_block(tf, input_size=4, gate_layout=gate_layout), gate_layout), tf)


def test_refusals_name_the_array():
    cell = random_cell(np.random.default_rng(16))
    cell["weight_hr"] = np.ones((2, 6))
    cell["weight_hh"] = np.ones((24, 2))
    with pytest.raises(LayoutError, match="TensorFlow block LSTM has no place for a projection"):
        to_tf_block(cell)
    with pytest.raises(LayoutError, match=r"w has shape \(6, 8\), expected \(7, 8\)"):
        from_tf_block({"w": np.zeros((6, 8))}, input_size=5)
    with pytest.raises(LayoutError, match="peepholes need wci, wcf and wco"):
        from_tf_block({"w": np.zeros((6, 8)), "wci": np.zeros(2)}, input_size=4)
    with pytest.raises(LayoutError, match="unknown gate_layout 'fico'"):
        to_tf_block(random_cell(np.random.default_rng(17)), "fico")
