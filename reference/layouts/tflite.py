"""TFLite LSTM op layout <-> canonical, for one cell (one layer, one direction).

Facts (tensorflow/lite/kernels/lstm.cc and lstm_eval.cc, the float LSTM; the input tensors of
the op by name, per gate of i (input), f (forget), c (cell, our g) and o (output)):
  input_to_{input,forget,cell,output}_weights       (H, I)    rows of weight_ih's blocks
  recurrent_to_{input,forget,cell,output}_weights   (H, S)    rows of weight_hh's blocks
  cell_to_{input,forget,output}_weights             (H,)      peepholes (optional)
  {input,forget,cell,output}_gate_bias              (H,)      one bias per gate
  projection_weights                                (P, H)    weight_hr (optional)
  {input,forget,cell,output}_layer_norm_coefficients (H,)     rows of layer_norm (optional)
TFLite's CIFG (use_cifg: no input-gate weights, i = 1 − f) couples the other way round from
the spec's input_forget (f = 1 − i) and is not converted here; nor is `projection_bias`
(the spec's projection has none): a non-zero one is refused. `cell_clip` and `proj_clip` are
the op's options, the spec's state_clip and proj_clip (SPEC.md §2, §12), not tensors.

TFLite has one bias per gate where PyTorch has two: canonical -> TFLite keeps
b_ih + b_hh; TFLite -> canonical puts it in bias_ih and zeros in bias_hh, the same function.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .cells import cell_sizes, check_shape, fail, require, split_gates, summed_bias, two_biases

CONVENTION = "TFLite LSTM"
GATES = {"i": "input", "f": "forget", "g": "cell", "o": "output"}
PEEPHOLE_GATES = ("i", "f", "o")  # rows of the canonical peephole


def to_tflite(cell: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TFLite's named tensors from a canonical cell."""
    cell_sizes(cell, CONVENTION)
    out = {}
    for g, blocks in (("input_to_{}_weights", split_gates(cell["weight_ih"], 0)),
                      ("recurrent_to_{}_weights", split_gates(cell["weight_hh"], 0))):
        out.update({g.format(GATES[k]): v.copy() for k, v in blocks.items()})
    bias = summed_bias(cell)
    if bias is not None:
        out.update({f"{GATES[k]}_gate_bias": v.copy() for k, v in split_gates(bias, 0).items()})
    if "peephole" in cell:
        out.update({f"cell_to_{GATES[k]}_weights": np.asarray(cell["peephole"])[r].copy()
                    for r, k in enumerate(PEEPHOLE_GATES)})
    if "weight_hr" in cell:
        out["projection_weights"] = np.asarray(cell["weight_hr"]).copy()
    if "layer_norm" in cell:
        out.update({f"{GATES[k]}_layer_norm_coefficients": np.asarray(cell["layer_norm"])[r].copy()
                    for r, k in enumerate(GATES)})
    return out


def from_tflite(tensors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A canonical cell from TFLite's named tensors (bias_ih = the gate biases, bias_hh = zeros)."""
    known = ({f"{kind}_{GATES[k]}_weights" for kind in ("input_to", "recurrent_to") for k in GATES}
             | {f"{GATES[k]}_gate_bias" for k in GATES} | {f"cell_to_{GATES[k]}_weights" for k in PEEPHOLE_GATES}
             | {f"{GATES[k]}_layer_norm_coefficients" for k in GATES} | {"projection_weights", "projection_bias"})
    unknown = set(tensors) - known
    if unknown:
        raise fail(CONVENTION, f"unknown tensors {sorted(unknown)}")
    if "input_to_input_weights" not in tensors and "input_to_forget_weights" in tensors:
        raise fail(CONVENTION, "no input_to_input_weights: a CIFG LSTM (i = 1 − f), which the spec's input_forget "
                               "(f = 1 − i) does not express")
    if "projection_bias" in tensors and np.any(np.asarray(tensors["projection_bias"])):
        raise fail(CONVENTION, "a non-zero projection_bias has no place in the canonical projection")

    def stacked(names, rows):
        blocks = [require(tensors, n, CONVENTION) for n in names]
        for n, b in zip(names, blocks):
            check_shape(b, blocks[0].shape, CONVENTION, n, f"like {names[0]}")
        return np.concatenate(blocks, axis=0) if blocks[0].ndim == 2 else np.stack(blocks)

    cell = {"weight_ih": stacked([f"input_to_{GATES[k]}_weights" for k in GATES], 4),
            "weight_hh": stacked([f"recurrent_to_{GATES[k]}_weights" for k in GATES], 4)}
    hidden = cell["weight_ih"].shape[0] // 4
    if "input_gate_bias" in tensors:
        bias = np.concatenate([require(tensors, f"{GATES[k]}_gate_bias", CONVENTION) for k in GATES])
        check_shape(bias, (4 * hidden,), CONVENTION, "gate biases", f"4 x H with H = {hidden}")
        cell.update(two_biases(bias, into="ih"))
    if "projection_weights" in tensors:
        cell["weight_hr"] = np.asarray(tensors["projection_weights"]).copy()
    if any(f"cell_to_{GATES[k]}_weights" in tensors for k in PEEPHOLE_GATES):
        cell["peephole"] = stacked([f"cell_to_{GATES[k]}_weights" for k in PEEPHOLE_GATES], 3)
    if any(f"{GATES[k]}_layer_norm_coefficients" in tensors for k in GATES):
        cell["layer_norm"] = stacked([f"{GATES[k]}_layer_norm_coefficients" for k in GATES], 4)
    cell_sizes(cell, CONVENTION)
    return cell
