"""Flax linen LSTMCell / OptimizedLSTMCell parameter tree <-> canonical, for one cell.

Facts (google/flax, flax/linen/recurrent.py, read at commit 006da41a47): LSTMCell builds
eight Dense layers named by input side and gate,

    i = gate_fn(dense_i('ii')(x) + dense_h('hi')(h))        f: 'if' + 'hf'
    g = activation_fn(dense_i('ig')(x) + dense_h('hg')(h))  o: 'io' + 'ho'
    new_c = f * c + i * g;   new_h = o * activation_fn(new_c)

where dense_i has use_bias=False and dense_h has use_bias=True ("input and recurrent layers
are summed so only one needs a bias"). A Dense kernel is (in_features, out_features) and
computes x @ kernel + bias. The tree of one cell is therefore

    {"ii": {"kernel": (I, H)}, "if": ..., "ig": ..., "io": ...,
     "hi": {"kernel": (H, H), "bias": (H,)}, "hf": ..., "hg": ..., "ho": ...}

OptimizedLSTMCell creates parameters "with the same names/shapes as LSTMCell for
compatibility" (DenseParams ii..io without bias, hi..ho with bias) and only concatenates
them before the matmul, so the same tree serves both. The carry is (c, h), c first. Inside
nn.RNN the tree sits under params["cell"]. No projection, no peepholes.

Flax's single bias per gate sits on the hidden-side Dense, so Flax -> canonical puts it in
`bias_hh` and zeros in `bias_ih`; canonical -> Flax stores b_ih + b_hh there (only the sum
reaches the gates; the split is lost). A canonical cell without bias gets zero biases,
since Flax's LSTMCell always has them.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...spec.model import GATE_ORDER
from .cells import cell_sizes, check_shape, fail, join_gates, reject_extras, split_gates, summed_bias, two_biases

CONVENTION = "Flax LSTMCell"
INPUT_DENSE = {g: "i" + g for g in GATE_ORDER}  # gate -> Dense name on the input side: ii, if, ig, io
HIDDEN_DENSE = {g: "h" + g for g in GATE_ORDER}  # hi, hf, hg, ho


def to_flax(cell: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """The parameter tree of a Flax LSTMCell from a canonical cell."""
    reject_extras(cell, CONVENTION)
    _, hidden = cell_sizes(cell, CONVENTION)
    w_ih, w_hh = split_gates(cell["weight_ih"], 0), split_gates(cell["weight_hh"], 0)
    bias = summed_bias(cell)
    biases = split_gates(bias if bias is not None else np.zeros(4 * hidden), 0)
    tree: dict[str, dict[str, np.ndarray]] = {}
    for gate in GATE_ORDER:
        tree[INPUT_DENSE[gate]] = {"kernel": w_ih[gate].T.copy()}
        tree[HIDDEN_DENSE[gate]] = {"kernel": w_hh[gate].T.copy(), "bias": biases[gate].copy()}
    return tree


def from_flax(tree: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """A canonical cell from a Flax LSTMCell tree: bias_hh = the hidden Dense biases, bias_ih = 0."""
    expected = set(INPUT_DENSE.values()) | set(HIDDEN_DENSE.values())
    if set(tree) != expected:
        raise fail(CONVENTION, f"tree has {sorted(tree)}, expected exactly {sorted(expected)} "
                               "(pass the cell's own tree, e.g. params['cell'] inside nn.RNN)")
    hidden_kernel = np.asarray(tree["hi"].get("kernel"))
    if hidden_kernel.ndim != 2 or hidden_kernel.shape[0] != hidden_kernel.shape[1]:
        raise fail(CONVENTION, f"hi.kernel has shape {hidden_kernel.shape}, expected (H, H)")
    hidden = hidden_kernel.shape[0]
    input_kernel = np.asarray(tree["ii"].get("kernel"))
    if input_kernel.ndim != 2:
        raise fail(CONVENTION, f"ii.kernel has shape {input_kernel.shape}, expected (I, H)")
    inputs = input_kernel.shape[0]
    w_ih, w_hh, bias = {}, {}, {}
    for gate in GATE_ORDER:
        name_i, name_h = INPUT_DENSE[gate], HIDDEN_DENSE[gate]
        if set(tree[name_i]) != {"kernel"}:
            raise fail(CONVENTION, f"{name_i} has {sorted(tree[name_i])}, expected only a kernel (use_bias=False)")
        if set(tree[name_h]) != {"kernel", "bias"}:
            raise fail(CONVENTION, f"{name_h} has {sorted(tree[name_h])}, expected kernel and bias")
        check_shape(np.asarray(tree[name_i]["kernel"]), (inputs, hidden), CONVENTION, f"{name_i}.kernel", "I, H")
        check_shape(np.asarray(tree[name_h]["kernel"]), (hidden, hidden), CONVENTION, f"{name_h}.kernel", "H, H")
        check_shape(np.asarray(tree[name_h]["bias"]), (hidden,), CONVENTION, f"{name_h}.bias", "H")
        w_ih[gate] = np.asarray(tree[name_i]["kernel"]).T
        w_hh[gate] = np.asarray(tree[name_h]["kernel"]).T
        bias[gate] = np.asarray(tree[name_h]["bias"])
    cell = {"weight_ih": join_gates(w_ih, 0), "weight_hh": join_gates(w_hh, 0)}
    cell.update(two_biases(join_gates(bias, 0), into="hh"))
    return cell
