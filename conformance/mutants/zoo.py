"""The zoo: defective implementations, each one small departure from ControlLSTM.

Every class states its defect (`defect`), and, where the diagnosis should recognise it, the
id of that defect in the registry (`defect_id`, defects.py; `defect_fields` fill its text)
and a library case that shows it (`diagnosis_case`). Most of these are bugs found in real LSTM code: the gate order of
docs/TEXTBOOK.md §1, the bias gradients of docs/TEXTBOOK.md §3, the dropped c_n gradient, packed sequences
processed through their padding, a reverse direction not realigned.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..defects import named
from .control import ControlLSTM


class Mutant(ControlLSTM):
    defect_id: str | None = None  # the defect (defects.py) the diagnosis must name (None: none it can)
    defect_fields: dict = {}  # its fields for the diagnosis case
    diagnosis_case: str | None = None  # where the defect is distinguishable
    diagnosis_check = "forward"  # the check whose failing record the diagnosis names it in
    diagnosis_dtypes = ("float32", "float64")  # the dtypes it is named in (defect_fields hold for each)

    @classmethod
    def diagnosis_text(cls) -> str | None:
        """What the diagnosis must say for this mutant, from the defect registry."""
        return named(cls.defect_id, **cls.defect_fields) if cls.defect_id else None


def _blocks(perm):
    """A gate_blocks method reading canonical block perm[k] as gate k."""
    def gate_blocks(self, a, hidden):
        blocks = a.split_with_sizes((hidden,) * 4, dim=-1)
        return tuple(blocks[k] for k in perm)
    return gate_blocks


class GateOrderIF(Mutant):
    name = "gate-order-ifgo-as-figo"
    defect = "weights read as blocks f, i, g, o (docs/TEXTBOOK.md §1: PyTorch's first block believed to be f)"
    gate_blocks = _blocks((1, 0, 2, 3))
    defect_id = "gate-blocks-swapped"
    defect_fields = {"a": "i", "b": "f"}
    diagnosis_case = "gate-blocks-distinguishable"


class GateOrderONNX(Mutant):
    name = "gate-order-onnx-iofc"
    defect = "canonical weights read in ONNX's block order i, o, f, c"
    gate_blocks = _blocks((0, 2, 3, 1))
    defect_id = "gate-order"
    defect_fields = {"order": "i, g, o, f"}
    diagnosis_case = "gate-blocks-distinguishable"


class BiasesDropped(Mutant):
    name = "bias-dropped"
    defect = "both biases ignored"
    defect_id = "biases-dropped"
    diagnosis_case = "gate-blocks-distinguishable"

    def combined_bias(self, bias_ih, bias_hh):
        return torch.zeros_like(bias_ih)


class HiddenBiasDropped(Mutant):
    name = "hidden-bias-dropped"
    defect = "bias_hh ignored (only bias_ih added)"
    defect_id = "hidden-bias-dropped"
    diagnosis_case = "gate-blocks-distinguishable"

    def combined_bias(self, bias_ih, bias_hh):
        return bias_ih


class InitialStateIgnored(Mutant):
    name = "initial-state-ignored"
    defect = "h0 and c0 ignored: every sequence starts from zeros"
    defect_id = "initial-state-ignored"
    diagnosis_case = "gate-blocks-distinguishable"

    def initial_state(self, h0, c0):
        return torch.zeros_like(h0), torch.zeros_like(c0)


class NoCellActivation(Mutant):
    name = "no-cell-output-activation"
    defect = "h = o ⊙ c: the tanh on the cell output is missing"
    defect_id = "no-cell-output-activation"
    diagnosis_case = "gate-blocks-distinguishable"

    def cell_output(self, c):
        return c


class CellClipped(Mutant):
    name = "cell-clipped"
    defect = "the cell state is clipped to [-1, 1] after each update"
    defect_id = "cell-state-clipped"
    diagnosis_case = "large-initial-cell"

    def cell_update(self, f, c, i, g):
        return torch.clamp(f * c + i * g, -1.0, 1.0)


class ForgetPathDropped(Mutant):
    name = "forget-path-dropped"
    defect = "c' = i ⊙ g: the f ⊙ c term is missing"
    defect_id = "forget-path-dropped"
    diagnosis_case = "gate-blocks-distinguishable"

    def cell_update(self, f, c, i, g):
        return i * g


class ForgetGateOne(Mutant):
    name = "forget-gate-one"
    defect = "c' = c + i ⊙ g: the forget gate is never applied (as if f = 1)"
    defect_id = "gate-forced-to-one"
    defect_fields = {"gate": "forget", "formula": "c' = c + i ⊙ g"}
    diagnosis_case = "gate-blocks-distinguishable"

    def cell_update(self, f, c, i, g):
        return c + i * g


class Float16Compute(Mutant):
    name = "float16-compute"
    defect = "computes in float16 and casts the outputs back to the input dtype"
    defect_id = "computed-in"
    defect_fields = {"dtype": "float16"}
    diagnosis_case = "random/t5b3i4h7/bias/given-state"

    def compute_dtype(self, dtype):
        return torch.float16


class TimeReversed(Mutant):
    name = "time-reversed"
    defect = "the forward direction runs from T-1 down to 0"
    defect_id = "time-reversed"
    diagnosis_case = "gate-blocks-distinguishable"

    def time_steps(self, seq_len, reverse):
        return range(seq_len) if reverse else range(seq_len - 1, -1, -1)


class StatesSwapped(Mutant):
    name = "h_n-c_n-swapped"
    defect = "returns (c_n, h_n) where (h_n, c_n) belongs"
    defect_id = "final-state-swapped"
    diagnosis_case = "gate-blocks-distinguishable"

    def finish(self, outputs, problem):
        return dict(outputs, h_n=outputs["c_n"], c_n=outputs["h_n"])


class StateFromPenultimateStep(Mutant):
    name = "state-from-wrong-step"
    defect = "h_n and c_n are the states after step T-2 (an off-by-one in the final gather)"
    defect_id = "final-state-from-step"
    defect_fields = {"step": "T-2"}
    diagnosis_case = "gate-blocks-distinguishable"  # T = 5

    def final_state(self, h, c, ys, cs):
        return (ys[-2], cs[-2]) if len(ys) >= 2 else (h, c)


class LastStepSkipped(Mutant):
    name = "last-step-skipped"
    defect = "the loop runs T-1 steps (range(T - 1)); y at T-1 stays zero"
    defect_id = "last-step-skipped"
    defect_fields = {"direction": "forward"}
    diagnosis_case = "gate-blocks-distinguishable"

    def time_steps(self, seq_len, reverse):
        steps = super().time_steps(seq_len, reverse)
        return steps if reverse else range(seq_len - 1)


class PaddingProcessed(Mutant):
    name = "padding-processed"
    defect = "variable lengths only mask y: the recurrence runs through the padding"
    defect_id = "padding-processed"
    diagnosis_case = "lengths-with-state"

    def respects_lengths(self):
        return False


class ReverseMisaligned(Mutant):
    name = "reverse-direction-misaligned"
    defect = "the reverse direction's outputs are stored in processing order, not re-aligned in time"
    defect_id = "reverse-not-realigned"
    diagnosis_case = "bidirectional"

    def output_slot(self, t, seq_len, reverse):
        return seq_len - 1 - t if reverse else t


class RowsShareState(Mutant):
    name = "batch-rows-share-state"
    defect = "one state buffer for the batch: every row continues from the last row's state"
    defect_id = "batch-rows-share-state"
    diagnosis_case = "gate-blocks-distinguishable"

    def carry(self, h, c):
        return h[-1:].expand_as(h), c[-1:].expand_as(c)


class OneElementOff(Mutant):
    name = "one-element-off-1e-3"
    defect = "the largest element of y is off by 1e-3 relative (a kernel's edge-case bug)"
    defect_id = "output-written-wrong"
    defect_fields = {"output": "y"}
    diagnosis_case = "gate-blocks-distinguishable"  # its largest y is at step 0

    def finish(self, outputs, problem):
        y = outputs["y"].contiguous().clone()
        if y.numel():
            flat = y.view(-1)
            k = int(torch.argmax(flat.abs()))
            flat[k] = flat[k] * 1.001
        return dict(outputs, y=y)


class NoisyRuns(Mutant):
    name = "noise-1e-9-between-runs"
    defect = "each run adds noise of 1e-9 (an unordered reduction) while declaring itself deterministic"
    defect_id = "runs-differ-by-noise"
    diagnosis_case = "gate-blocks-distinguishable"
    diagnosis_check = "determinism"

    def finish(self, outputs, problem):
        rng = np.random.default_rng()  # fresh entropy on purpose: every run differs
        y = outputs["y"]
        return dict(outputs, y=y + torch.from_numpy(rng.normal(0.0, 1e-9, size=tuple(y.shape))).to(y.dtype))


class OverflowingSigmoid(Mutant):
    name = "sigmoid-overflows-to-nan"
    defect = "σ(z) = e^z / (1 + e^z): inf / inf = NaN once e^z overflows (z > 88 in float32)"
    defect_id = "sigmoid-overflows"
    diagnosis_case = "saturated-gates-extreme"

    def sigmoid(self, z):
        e = torch.exp(z)
        return e / (1.0 + e)


class StridesIgnored(Mutant):
    name = "strides-ignored"
    defect = "reads every input's memory as if it were contiguous"
    defect_id = "strides-ignored"
    diagnosis_case = "gate-blocks-distinguishable"
    diagnosis_check = "strided"

    def read_array(self, array):
        array = np.asarray(array)
        contiguous = np.empty(array.shape, array.dtype).strides
        return np.lib.stride_tricks.as_strided(array, array.shape, contiguous)


class AcceptsEmptySequence(Mutant):
    name = "accepts-t-0"
    defect = ("T = 0 returns zeros as the final state: neither the rejection nor the accepted empty answer "
              "(h_n = h0, c_n = c0) of SPEC.md §9 (onnxruntime 1.32 does this)")
    defect_id = "empty-sequence-zero-state"
    diagnosis_case = "gate-blocks-distinguishable"
    diagnosis_check = "errors"

    def validate(self, problem):
        self.validate_shapes(problem)

    def final_state(self, h, c, ys, cs):
        return (torch.zeros_like(h), torch.zeros_like(c)) if not ys else (h, c)


class CastsMixedDtypes(Mutant):
    name = "casts-mixed-dtypes"
    defect = "an x of another dtype than the parameters is silently cast"
    defect_id = "mixed-dtypes-converted"
    diagnosis_case = "gate-blocks-distinguishable"
    diagnosis_check = "errors"

    def input_tensor(self, problem, x, dtype):
        return x.to(dtype)


class TruncatesState(Mutant):
    name = "state-shape-unchecked"
    defect = "h0 with too many units is silently truncated instead of rejected"
    defect_id = "h0-truncated"
    diagnosis_case = "gate-blocks-distinguishable"
    diagnosis_check = "errors"

    @staticmethod
    def truncated(problem):
        if problem.h0 is None:
            return problem
        return dataclasses.replace(problem, h0=problem.h0[..., : problem.config.output_size])

    def prepare(self, problem):
        return super().prepare(self.truncated(problem))

    def gradients(self, problem, upstream):
        return super().gradients(self.truncated(problem), upstream)


class UpcastOutputs(Mutant):
    name = "outputs-upcast-to-float64"
    defect = "returns float64 outputs for float32 inputs (computes in float64)"
    defect_id = "outputs-upcast"
    defect_fields = {"got": "float64", "dtype": "float32"}
    diagnosis_case = "gate-blocks-distinguishable"
    diagnosis_check = "dtypes"
    diagnosis_dtypes = ("float32",)

    def compute_dtype(self, dtype):
        return torch.float64

    def prepare(self, problem):  # the control's prepare, without the cast back to the input dtype
        self.validate(problem)
        x, h0, c0, params = self.tensors(problem)

        def run():
            with torch.no_grad():
                return self.forward(problem, x, h0, c0, params)

        return run


class CnGradientDropped(Mutant):
    name = "c_n-gradient-dropped"
    defect = "the backward pass ignores the upstream gradient of c_n"
    defect_id = "upstream-term-ignored"
    defect_fields = {"term": "c_n"}
    diagnosis_case = "random/t5b3i4h7/bias/given-state"
    diagnosis_check = "gradients"

    def upstream_terms(self, upstream):
        return dict(upstream, c_n=None)


class BiasGradientFromForgetGate(Mutant):
    name = "bias-gradient-from-forget-block"
    defect = "the input- and output-gate bias gradients are the forget gate's (docs/TEXTBOOK.md §3)"
    defect_id = "gradient-from-gate-block"
    defect_fields = {"mapping": "bias_hh, bias_ih: blocks i and o from f"}
    diagnosis_case = "random/t5b3i4h7/bias/given-state"
    diagnosis_check = "gradients"

    def finish_gradients(self, grads, problem):
        H = problem.config.hidden_size
        out = dict(grads)
        for name in grads:
            if name.startswith("bias_"):
                g = grads[name].clone()
                g[0:H] = grads[name][H:2 * H]
                g[3 * H:4 * H] = grads[name][H:2 * H]
                out[name] = g
        return out


class StateDetached(Mutant):
    name = "state-detached"
    defect = ("the state carried to the next step is detached (truncated BPTT with a window of one step): "
              "no gradient flows through h or c across steps; the forward pass is exact")
    defect_id = "state-path-detached"
    defect_fields = {"path": "the state (h and c)"}
    diagnosis_case = "random/t5b3i4h7/bias/given-state"
    diagnosis_check = "gradients"

    def carry(self, h, c):
        self._live = (h, c)  # the final state keeps its graph: h_n's and c_n's gradients reach the last step
        return h.detach(), c.detach()

    def final_state(self, h, c, ys, cs):
        live, self._live = getattr(self, "_live", None), None
        return live if live is not None and ys else (h, c)


ZOO = (GateOrderIF, GateOrderONNX, BiasesDropped, HiddenBiasDropped, InitialStateIgnored, NoCellActivation,
       CellClipped, ForgetPathDropped, ForgetGateOne, Float16Compute, TimeReversed, StatesSwapped,
       StateFromPenultimateStep, LastStepSkipped, PaddingProcessed, ReverseMisaligned, RowsShareState, OneElementOff, NoisyRuns,
       OverflowingSigmoid, StridesIgnored, AcceptsEmptySequence, CastsMixedDtypes, TruncatesState, UpcastOutputs,
       CnGradientDropped, BiasGradientFromForgetGate, StateDetached)
