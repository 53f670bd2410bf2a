"""The defects the suite knows by name: one registry, keyed by id.

The diagnosis (diagnosis/) names a defect when it reproduces a failure, the mutant zoo
(mutants/zoo.py) builds implementations that have one, and the tests check that the
diagnosis names each mutant's defect by its id. The text is how a report says it; fields in
braces are filled in for the case at hand.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Defect:
    id: str
    text: str  # a str.format template


class Named(str):
    """A defect's text for one case, which still knows the defect's id."""

    defect_id: str

    def __new__(cls, defect_id: str, text: str):
        named = super().__new__(cls, text)
        named.defect_id = defect_id
        return named


_DEFECTS = (
    # gate layout
    Defect("gate-blocks-swapped", "gate blocks {a} and {b} swapped"),
    Defect("gate-order", "gates i, f, g, o computed from blocks {order} (spec: blocks i, f, g, o)"),
    # biases and states
    Defect("biases-dropped", "biases dropped (bias_ih and bias_hh ignored)"),
    Defect("hidden-bias-dropped", "hidden bias dropped (bias_hh ignored)"),
    Defect("input-bias-dropped", "input bias dropped (bias_ih ignored)"),
    Defect("initial-state-ignored", "initial state ignored (h0 and c0 taken as zeros)"),
    Defect("h0-ignored", "h0 ignored (taken as zeros)"),
    Defect("c0-ignored", "c0 ignored (taken as zeros)"),
    Defect("h0-c0-swapped", "h0 and c0 swapped"),
    Defect("gate-blocks-swapped-in", "gate blocks {a} and {b} swapped in {arrays} only"),
    # the cell
    Defect("gate-forced-to-one", "{gate} gate forced to 1 ({formula})"),
    Defect("gate-forced-to-zero", "{gate} gate forced to 0 ({formula})"),
    Defect("sigmoid-overflows", "σ computed as e^z / (1 + e^z): NaN once e^z overflows the dtype (z > 88.7 in "
                                "float32)"),
    Defect("activation-computed-as", "{role} activation {symbol} computed as {other} (spec: {act})"),
    Defect("no-cell-output-activation", "no activation on the cell output (h = o ⊙ c)"),
    Defect("forget-path-dropped", "forget path dropped (c' = i ⊙ g)"),
    Defect("cell-state-clipped", "cell state clipped to [-1, 1]"),
    Defect("batch-rows-share-state", "batch rows share one state (each continues from the last row's)"),
    Defect("computed-in", "computed in {dtype} (every output value is a {dtype} number)"),
    Defect("rounded-per-operation", "arithmetic rounded to {dtype} (the outputs deviate as the reference with every "
                                    "operation rounded to {dtype} does)"),
    # time and outputs
    Defect("time-reversed", "time reversed (steps processed from T-1 down to 0)"),
    Defect("last-step-skipped", "{direction} direction's last step skipped (T-1 steps computed)"),
    Defect("first-step-skipped", "{direction} direction started one step late (its first step, {first}, skipped: "
                                 "its outputs there stay zero)"),
    Defect("first-step-repeated", "{direction} direction started one step early (step t reads x at {read}: its first "
                                  "step's x computed twice, its last step's never)"),
    Defect("outputs-axes-swapped", "{outputs} returned with their first two axes swapped ({got}; spec: {spec})"),
    Defect("output-written-wrong", "{output} wrong while the state the recurrence carries is right (h_n and c_n "
                                   "right, and no wrong value of {output} reaches the next step): an error in "
                                   "writing the output, not in the LSTM step"),
    Defect("final-state-swapped", "h_n and c_n swapped"),
    Defect("final-state-from-step", "h_n and c_n taken from the outputs at step {step} (spec: the state after the "
                                    "last step)"),
    Defect("padding-processed", "padding processed as data (lengths ignored by the recurrence)"),
    Defect("reverse-not-realigned", "reverse direction's outputs not re-aligned in time"),
    Defect("directions-swapped-in-y", "y's two direction halves in the wrong order (the reverse direction's first; "
                                      "spec: forward then reverse)"),
    Defect("directions-swapped-in-final-state", "h_n and c_n's direction slices in the wrong order (the reverse "
                                                "direction's first; spec: layer by layer, forward then reverse)"),
    Defect("directions-swapped-between-layers", "layers 1 and up read the layer below's output with its two "
                                                "direction halves in the wrong order (the reverse direction's "
                                                "first; spec: forward then reverse)"),
    # an option of the case ignored, or applied in part
    Defect("peepholes-ignored", "peepholes ignored (no peephole terms)"),
    Defect("output-peephole-state", "output peephole applied to {got}, spec: {spec}"),
    Defect("input-forget-ignored", "input_forget ignored (f from its own gate block, not 1 − i)"),
    Defect("forget-bias-ignored", "forget_bias ignored (taken as 0, spec: {value})"),
    Defect("cell-clip-ignored", "cell clip ignored (nothing clipped)"),
    Defect("cell-clip-gates-only", "cell clip applied to the gates only (ψ's input c' not clipped)"),
    Defect("cell-clip-psi-only", "cell clip applied to ψ's input only (gate pre-activations not clipped)"),
    Defect("cell-clip-on-state", "cell state itself clipped (TF1 cell_clip), not only ψ's input"),
    Defect("activation-ignored", "{role} activation {symbol} = {act} ignored ({default} used)"),
    Defect("activation-parameters-ignored", "alpha/beta of the {role} activation {act} ignored (defaults used)"),
    Defect("activations-ignored", "activations ignored (sigmoid, tanh, tanh used)"),
    Defect("onnx-alpha-by-position", "ONNX activation_alpha / activation_beta read one value per activation by "
                                     "position, not consumed in order (SPEC.md §4)"),
    Defect("padding-carry-ignored", "padding: carry ignored (zeros written past a row's length, spec: the previous "
                                    "step's output carried, as Keras masking does)"),
    Defect("state-clip-ignored", "state_clip ignored (the cell state not clipped to [-{value}, {value}])"),
    Defect("proj-clip-ignored", "proj_clip ignored (the projected output not clipped to [-{value}, {value}])"),
    Defect("layer-norm-ignored", "layer_norm ignored (gate pre-activations not normalised)"),
    Defect("layer-norm-coefficients-ignored", "layer norm coefficients ignored (every γ taken as 1)"),
    Defect("reverse-activations-ignored", "reverse direction's activations ignored (the forward direction's used)"),
    Defect("num-layers-ignored", "num_layers ignored (only layer 0 computed)"),
    Defect("bidirectional-ignored", "bidirectional ignored (forward direction only)"),
    Defect("reverse-direction-ignored", "direction reverse ignored (computed forward)"),
    Defect("batch-first-ignored", "batch_first ignored (x read as time-major)"),
    Defect("lengths-ignored", "lengths ignored (every row runs all T steps)"),
    # inputs and outputs in memory, and repeated runs
    Defect("strides-ignored", "strides ignored: non-contiguous inputs read as if contiguous"),
    Defect("runs-differ-by-noise", "runs differ by noise, small next to every value (an unordered reduction or a "
                                   "race), although declared deterministic"),
    Defect("outputs-upcast", "outputs returned as {got} for {dtype} inputs (computed in {got}: they match the "
                             "reference better than {dtype} rounding allows)"),
    # invalid input accepted
    Defect("empty-sequence-zero-state", "T = 0 answered with zeros as the final state (the initial state dropped; "
                                        "SPEC.md §9: raise, or h_n = h0 and c_n = c0)"),
    Defect("h0-truncated", "h0 with too many units silently truncated to its configured ones (it must raise)"),
    Defect("mixed-dtypes-converted", "x in another dtype than the parameters accepted and converted (the outputs "
                                     "are the reference's on that x; it must raise)"),
    # gradients
    Defect("upstream-term-ignored", "upstream gradient of {term} ignored"),
    Defect("state-path-detached", "gradient through {path} cut between steps (truncated backpropagation with a "
                                  "window of one step)"),
    Defect("gradient-zero", "gradient of {arrays} all zeros (not computed, or the parameter left out of the "
                            "backward pass)"),
    Defect("gradient-transposed", "gradient of {arrays} returned transposed (spec: the canonical layout of "
                                  "SPEC.md §5)"),
    Defect("gradient-from-gate-block", "parameter gradients taken from the wrong gate block: {mapping}"),
    Defect("gradient-wrong-only-in", "gradient wrong only in: {arrays}; every other gradient right"),
)
DEFECTS = {d.id: d for d in _DEFECTS}


def named(defect_id: str, **fields) -> Named:
    """The defect's text for this case (KeyError for an unknown id: the registry is closed)."""
    return Named(defect_id, DEFECTS[defect_id].text.format(**fields))
