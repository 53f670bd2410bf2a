"""dm-haiku hk.LSTM parameters <-> canonical, for one cell.

Facts (google-deepmind/dm-haiku, haiku/_src/recurrent.py, LSTM.__call__, read in release
0.0.17): one hk.Linear(4H) over the concatenation [x, h],

    gated = concat([x, h]) @ w + b          w: (I + H, 4H), b: (4H,)   (hk.Linear: x @ w + b)
    i, g, f, o = split(gated, 4)            # "i = input, g = cell_gate, f = forget_gate, o = output_gate"
    f = σ(f + 1)                            # "Forget bias, as in sonnet."
    c' = f * c + σ(i) * tanh(g);   h' = σ(o) * tanh(c')

so the blocks are in the order i, g, f, o (not PyTorch's i, f, g, o), there is one bias, the
weights of x and h are stacked along the input axis and transposed, and a constant 1 is
added to the forget gate's pre-activation. The state is LSTMState(hidden, cell). The
parameters sit under the module name: params["lstm/linear"] = {"w": ..., "b": ...}.

To keep the canonical function, to_haiku stores b_f + forget_bias − 1 in the forget block
(forget_bias: the canonical configuration's constant, SPEC.md §3), so that Haiku's + 1
restores it, and from_haiku(linear, input_size, forget_bias) undoes that.
Canonical -> Haiku sums b_ih + b_hh; Haiku -> canonical puts the bias in `bias_ih` and zeros
in `bias_hh`. hk.LSTM always has a bias: a canonical cell without one gets zeros there
(−1 + forget_bias in the forget block). No projection, no peepholes.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .cells import cell_sizes, check_shape, fail, join_gates, reject_extras, split_gates, summed_bias, two_biases

CONVENTION = "Haiku LSTM"
HAIKU_GATE_ORDER = ("i", "g", "f", "o")
FORGET_OFFSET = 1.0  # hk.LSTM's f = sigmoid(f + 1)


def to_haiku(cell: Mapping[str, np.ndarray], forget_bias: float = 0.0) -> dict[str, np.ndarray]:
    """{"w": (I + H, 4H), "b": (4H,)} of an hk.LSTM's linear layer from a canonical cell whose
    configuration adds `forget_bias` to the forget gate."""
    reject_extras(cell, CONVENTION)
    _, hidden = cell_sizes(cell, CONVENTION)
    w_ih, w_hh = split_gates(cell["weight_ih"], 0), split_gates(cell["weight_hh"], 0)
    bias = summed_bias(cell)
    biases = split_gates(bias if bias is not None else np.zeros(4 * hidden), 0)
    biases["f"] = biases["f"] + (forget_bias - FORGET_OFFSET)
    w = np.concatenate([join_gates(w_ih, 0, HAIKU_GATE_ORDER), join_gates(w_hh, 0, HAIKU_GATE_ORDER)], axis=1)
    return {"w": w.T.copy(), "b": join_gates(biases, 0, HAIKU_GATE_ORDER)}


def from_haiku(linear: Mapping[str, np.ndarray], input_size: int,
               forget_bias: float = 0.0) -> dict[str, np.ndarray]:
    """A canonical cell from an hk.LSTM's linear layer {"w", "b"}, for a configuration that adds
    `forget_bias` to the forget gate (the inverse of to_haiku); `input_size` says where x's rows
    of w end and h's begin. (forget_bias 1 takes the bias as it is, as for a gradient.)"""
    if set(linear) != {"w", "b"}:
        raise fail(CONVENTION, f"linear layer has {sorted(linear)}, expected exactly w and b "
                               "(pass params['lstm/linear'])")
    w, b = np.asarray(linear["w"]), np.asarray(linear["b"])
    if w.ndim != 2 or w.shape[1] % 4:
        raise fail(CONVENTION, f"w has shape {w.shape}, expected (I + H, 4H)")
    hidden = w.shape[1] // 4
    check_shape(w, (input_size + hidden, 4 * hidden), CONVENTION, "w", f"I + H = {input_size} + {hidden}, 4H")
    check_shape(b, (4 * hidden,), CONVENTION, "b", "4H")
    w_ih = split_gates(w[:input_size].T, 0, HAIKU_GATE_ORDER)
    w_hh = split_gates(w[input_size:].T, 0, HAIKU_GATE_ORDER)
    biases = split_gates(b, 0, HAIKU_GATE_ORDER)
    biases["f"] = biases["f"] + (FORGET_OFFSET - forget_bias)
    cell = {"weight_ih": join_gates(w_ih, 0), "weight_hh": join_gates(w_hh, 0)}
    cell.update(two_biases(join_gates(biases, 0), into="ih"))
    return cell
