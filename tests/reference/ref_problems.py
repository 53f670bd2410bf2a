"""Small random LSTM problems for the reference's own tests, one per variant of the spec.

TORCH_VARIANTS are the configurations torch.nn.LSTM can run; SPEC_ONLY_VARIANTS use what it
lacks (peepholes, cell clip, coupled gates, forget bias, other activations). Every problem
has distinct random h0 and c0 unless the variant says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from lstm_conformance.reference.activations import NAMES
from lstm_conformance.spec.model import Activation, LSTMConfig, input_shape, parameter_shapes, state_shapes


@dataclass
class Variant:
    config: LSTMConfig
    seq_len: int = 4
    batch: int = 3
    lengths: Optional[list] = None
    initial_state: bool = True
    param_scale: float = 0.6  # parameters ~ U(-scale, scale)
    tags: tuple = field(default_factory=tuple)


def _cfg(**options) -> LSTMConfig:
    options.setdefault("input_size", 3)
    options.setdefault("hidden_size", 4)
    return LSTMConfig(**options)


UNSORTED_LENGTHS = [5, 1, 7, 2, 5, 1]  # the lengths 7, 5, 5, 2, 1, 1 in no particular order

TORCH_VARIANTS = {
    "single": Variant(_cfg()),
    "zero_state": Variant(_cfg(), initial_state=False),
    "no_bias": Variant(_cfg(bias=False)),
    "layers": Variant(_cfg(num_layers=3)),
    "bidirectional": Variant(_cfg(bidirectional=True)),
    "projection": Variant(_cfg(proj_size=2)),
    "layers_bidi_proj": Variant(_cfg(num_layers=2, bidirectional=True, proj_size=3)),
    "lengths": Variant(_cfg(), seq_len=7, batch=6, lengths=UNSORTED_LENGTHS),
    "lengths_bidi_layers_proj": Variant(_cfg(num_layers=2, bidirectional=True, proj_size=2), seq_len=7, batch=6,
                                        lengths=UNSORTED_LENGTHS),
    "batch_first": Variant(_cfg(batch_first=True)),
    "batch_first_lengths_bidi": Variant(_cfg(batch_first=True, bidirectional=True), seq_len=7, batch=6,
                                        lengths=UNSORTED_LENGTHS),
    "unbatched": Variant(_cfg(unbatched=True)),
    "unbatched_bidi_proj_layers": Variant(_cfg(unbatched=True, bidirectional=True, proj_size=2, num_layers=2)),
    "large_weights": Variant(_cfg(num_layers=2), param_scale=4.0),  # saturated gates
}


def _rotation(k: int) -> tuple:
    """Activations for roles (gate, cell, hidden) such that, over k = 0..11, every activation
    meets every role once. Parameters chosen so both sides of each kink are visited."""
    with_params = {
        "hard_sigmoid": Activation("hard_sigmoid", 0.3, 0.45), "affine": Activation("affine", 0.7, 0.1),
        "leaky_relu": Activation("leaky_relu", 0.2), "thresholded_relu": Activation("thresholded_relu", 0.15),
        "scaled_tanh": Activation("scaled_tanh", 1.3, 0.7), "elu": Activation("elu", 0.8),
    }
    names = [NAMES[k % 12], NAMES[(k + 4) % 12], NAMES[(k + 8) % 12]]
    return tuple(with_params.get(n, Activation(n)) for n in names)


SPEC_ONLY_VARIANTS = {
    "peepholes": Variant(_cfg(peepholes=True)),
    "peepholes_bidi_layers_proj_lengths": Variant(_cfg(peepholes=True, bidirectional=True, num_layers=2, proj_size=2),
                                                  seq_len=5, batch=4, lengths=[3, 5, 1, 4]),
    "cell_clip": Variant(_cfg(cell_clip=0.7), param_scale=1.2),
    "cell_clip_peepholes_bidi": Variant(_cfg(cell_clip=0.5, peepholes=True, bidirectional=True), param_scale=1.0),
    "input_forget": Variant(_cfg(input_forget=True)),
    "forget_bias": Variant(_cfg(forget_bias=1.0)),
    "everything": Variant(_cfg(peepholes=True, cell_clip=0.8, input_forget=True, forget_bias=0.5, num_layers=2,
                               bidirectional=True, proj_size=2, batch_first=True,
                               activations=(Activation("hard_sigmoid"), Activation("softsign"), Activation("elu"))),
                          seq_len=4, batch=3, lengths=[2, 4, 3], param_scale=1.0),
    "linear_activations": Variant(_cfg(activations=(Activation("sigmoid"), Activation("identity"),
                                                    Activation("identity")))),
}
# direction: reverse (SPEC.md §2): one direction, run from t = T-1 down (torch has it only as the
# reverse half of a bidirectional module: tests/reference/test_reference_directions.py)
SPEC_ONLY_VARIANTS.update({
    "reverse": Variant(_cfg(direction="reverse")),
    "reverse_lengths_layers_proj": Variant(_cfg(direction="reverse", num_layers=2, proj_size=2), seq_len=5, batch=4,
                                           lengths=[3, 5, 1, 4]),
    "reverse_batch_first_peepholes_clip": Variant(_cfg(direction="reverse", batch_first=True, peepholes=True,
                                                       cell_clip=0.6), param_scale=1.0),
})
# per-direction activations (SPEC.md §4): the reverse direction's own σ, φ, ψ
SPEC_ONLY_VARIANTS.update({
    "direction_activations_peepholes_lengths": Variant(
        _cfg(bidirectional=True, peepholes=True, activations=_rotation(3), activations_reverse=_rotation(7)),
        seq_len=5, batch=4, lengths=[3, 5, 1, 4], param_scale=0.9),
    "direction_activations_layers_proj": Variant(
        _cfg(bidirectional=True, num_layers=2, proj_size=2, activations_reverse=_rotation(5)), param_scale=0.9),
})
# peephole_output_state: previous (SPEC.md §2): o sees the state entering the step (WebNN)
SPEC_ONLY_VARIANTS.update({
    "peephole_output_previous": Variant(_cfg(peepholes=True, peephole_output_state="previous"), param_scale=1.0),
    "peephole_output_previous_bidi_lengths_clip": Variant(
        _cfg(peepholes=True, peephole_output_state="previous", bidirectional=True, cell_clip=0.7, num_layers=2),
        seq_len=5, batch=4, lengths=[3, 5, 1, 4], param_scale=1.0),
})
# padding: carry (SPEC.md §7, Keras masking): past a row's length y holds the previous output
SPEC_ONLY_VARIANTS.update({
    "padding_carry": Variant(_cfg(padding="carry"), seq_len=7, batch=6, lengths=UNSORTED_LENGTHS),
    "padding_carry_bidi_layers_proj_batch_first": Variant(
        _cfg(padding="carry", bidirectional=True, num_layers=2, proj_size=2, batch_first=True), seq_len=5, batch=4,
        lengths=[3, 5, 1, 4]),
    "padding_carry_reverse_unbatched": Variant(_cfg(padding="carry", direction="reverse", unbatched=True),
                                               seq_len=5, lengths=[3]),
})
# TF/TFLite (SPEC.md §2): state_clip (TF1 cell_clip on the state), proj_clip, layer_norm (TFLite)
SPEC_ONLY_VARIANTS.update({
    "state_clip": Variant(_cfg(state_clip=0.4), param_scale=1.2),
    "state_clip_peepholes_bidi_lengths": Variant(_cfg(state_clip=0.5, peepholes=True, bidirectional=True),
                                                 seq_len=5, batch=4, lengths=[3, 5, 1, 4], param_scale=1.0),
    "proj_clip": Variant(_cfg(proj_size=2, proj_clip=0.15), param_scale=1.2),
    "proj_clip_state_clip_layers": Variant(_cfg(proj_size=2, proj_clip=0.2, state_clip=0.6, num_layers=2),
                                           param_scale=1.2),
    "layer_norm": Variant(_cfg(layer_norm=True), param_scale=1.0),
    "layer_norm_no_bias": Variant(_cfg(layer_norm=True, bias=False), param_scale=1.0),
    "layer_norm_peepholes_proj_bidi_lengths": Variant(
        _cfg(layer_norm=True, peepholes=True, proj_size=2, bidirectional=True, forget_bias=0.5),
        seq_len=5, batch=4, lengths=[3, 5, 1, 4], param_scale=1.0),
    "layer_norm_input_forget_clip_output_previous": Variant(
        _cfg(layer_norm=True, peepholes=True, input_forget=True, cell_clip=0.8, peephole_output_state="previous",
             num_layers=2), param_scale=1.0),
    "tf_everything_carry": Variant(
        _cfg(layer_norm=True, state_clip=0.5, proj_size=2, proj_clip=0.3, padding="carry", peepholes=True,
             bidirectional=True), seq_len=5, batch=4, lengths=[3, 5, 1, 4], param_scale=1.0),
})
SPEC_ONLY_VARIANTS.update({f"activations_{k}": Variant(_cfg(activations=_rotation(k)), param_scale=0.9)
                           for k in range(12)})

ALL_VARIANTS = {**TORCH_VARIANTS, **SPEC_ONLY_VARIANTS}


def make_problem(variant: Variant, seed: int = 0, sizes: Optional[dict] = None) -> dict:
    """Random arrays for `variant`: {"config", "x", "params", "h0", "c0", "lengths"}.
    `sizes` may override input_size / hidden_size / seq_len / batch (for the slow mpmath runs)."""
    sizes = sizes or {}
    config = variant.config
    if "input_size" in sizes or "hidden_size" in sizes:
        hidden = sizes.get("hidden_size", config.hidden_size)
        config = config.with_options(input_size=sizes.get("input_size", config.input_size), hidden_size=hidden,
                                     proj_size=min(config.proj_size, hidden - 1))
    T = sizes.get("seq_len", variant.seq_len)
    B = 1 if config.unbatched else sizes.get("batch", variant.batch)
    rng = np.random.default_rng(seed)
    s = variant.param_scale
    params = {name: rng.uniform(-s, s, shape) for name, shape in parameter_shapes(config).items()}
    states = state_shapes(config, B)
    h0 = rng.uniform(-1, 1, states["h0"]) if variant.initial_state else None
    c0 = rng.uniform(-1.5, 1.5, states["c0"]) if variant.initial_state else None
    lengths = None
    if variant.lengths is not None:
        lengths = np.array(variant.lengths if "batch" not in sizes else
                           [min(n, T) for n in variant.lengths[:B]], dtype=np.int64)
    return {"config": config, "x": rng.uniform(-1, 1, input_shape(config, T, B)), "params": params,
            "h0": h0, "c0": c0, "lengths": lengths}


def upstream(outputs: dict, seed: int = 1) -> dict:
    """Random upstream gradients shaped like y, h_n and c_n."""
    rng = np.random.default_rng(seed)
    return {f"grad_{k}": rng.normal(size=outputs[k].shape) for k in ("y", "h_n", "c_n")}
