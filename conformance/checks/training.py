"""`training-parity`: the character-level language model of docs/TEXTBOOK.md §5 trained
twice from the same initial parameters — once with the implementation's forward pass and
gradients (through the adapter contract), once with the reference's (lstm_forward,
lstm_backward) — must give the same loss curve and the same final parameters.

The model (SETTINGS below): one-hot characters of spec/training_text.txt (a short text
written for the suite, 1164 characters, 30 distinct) into one LSTM layer (H = 16, bias, zero
initial state, standard activations), a linear decoder logits = h W_hq + b_q, the mean
cross-entropy of the next character over T = 25 steps and B = 8 windows, the gradient's
global norm (LSTM and decoder together) clipped to 0.25, and plain SGD with learning rate 1
for 300 steps. Every initial parameter, LSTM and decoder, is drawn from N(0, 0.01²) (the
textbook's distribution) by a generator seeded with the case seed; the windows of each step
come from another generator seeded the same way, so both runs see the same batches. The
loss falls from ln 30 ≈ 3.40 to 2.79, and the clip engages in 21 of the 300 steps (its
threshold is below the textbook's 1, which these small gradients, at most 0.43, never reach).

Only the LSTM differs between the two runs. The decoder, loss, clipping and SGD are this
module's float64 NumPy code, identical in both. In each step the LSTM's parameters are
rounded to the tested dtype before they are handed over (SGD updates a float64 master copy),
and so is the upstream gradient of y: the contract promises the adapter values representable
in its dtype, and the reference run is given exactly the same values. What comes back (y,
the gradients) is used as returned, so in float32 the implementation's rounding errors enter
the training as they would in real use, and the check bounds how far 300 steps amplify them.
The upstream gradients of h_n and c_n are None (the loss reads y only).

Why a check and not a command: the question is one verdict per implementation and dtype,
with the metrics of a comparison, which is what a check record is; it needs the adapter
contract only (prepare for y, gradients(problem, upstream) for the backward pass), so it runs
under `run`, `--isolate`, `-j`, the pytest plugin and the mutation score like any other
check. It runs on one dedicated case of the library, `textbook-small-init`
(limits.TRAINING_PARITY_CASE: the textbook's initialisation; the run takes that case's seed,
207, and its dtypes), because training costs seconds, not the milliseconds of the other
checks. Measured on a shared 2-core CPU (load average ≈ 4), per implementation and dtype:
the reference's run 1.3–1.8 s (once: it is kept in the reference cache, in memory and on
disk; 0.65 s on a quiet machine since its backward pass reuses the forward pass's steps,
reference_steps); with torch on one thread numpy 0.75 s, torch-lstm 0.6–1.4 s, torch-cell 1.6 s. In
`lstm-conformance run`, with torch's default two intra-op threads on that loaded machine,
numpy took 1.2–1.4 s, torch-cell 3.1–3.5 s and torch-lstm 11–16 s (up to 47 s once): 600
tiny calls, each paying the contention for the second thread (the mutation score runs torch
on one thread for this reason). B = 16 or H = 32 cost 5–10× more (NumPy's small matrix
products), hence the small model. Adapters without gradients (Capabilities.gradients) are
unsupported, with that reason; so are dtypes other than float32 and float64 (no measurement
backs a half-precision tolerance over 300 steps).

Tolerance (PARITY_TOLERANCES): the forward check's (tolerances.py: float64 atol 1e-10, rtol
1e-9; float32 atol 2e-5, rtol 1e-4), per step on the loss, and on each final parameter array
with atol × max(1, max |p|), as the gradients check scales it. Measured with numpy,
torch-lstm, torch-cell and the zoo's control (PyTorch 2.13, NumPy, CPU), `used` being the
largest max |error| / (atol + rtol·|expected|) and the margin 1 / used:

    dtype     largest abs error                    used      margin
    float64   loss 1.8e-15, parameters 2.2e-15     8.7e-06   > 10^5
    float32   loss 7.5e-07, parameters 1.3e-06     0.042     24×     (numpy)

(tests/checks/test_training_parity.py re-measures it and asserts the margin ≥ MIN_MARGIN).
A backward pass that detaches the state carried between steps (truncated BPTT, the zoo's
`state-detached`, whose forward pass is exact) trains another model: its loss departs by
0.05 and its parameters by 0.7 within the 300 steps, used 1.2e4 in float32, 1.8e9 in float64.
"""
from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..diagnosis import attach
from ..metrics import compare_output, failing_mask, worst_of
from ..reference import lstm_backward, lstm_forward
from ..spec.materialize import round_to_dtype
from ..spec.model import LSTMConfig, Problem, parameter_shapes
from ..tolerances import Tolerance, tolerance_for
from .base import Check, finish
from .limits import TRAINING_PARITY_CASE
from .reference_cache import reference_fingerprint

CASE_ID = TRAINING_PARITY_CASE  # the one library case this check runs on
TEXT_FILE = "training_text.txt"  # package data of lstm_conformance.spec


@dataclass(frozen=True)
class Settings:
    seq_len: int = 25
    batch: int = 8
    hidden_size: int = 16
    steps: int = 300
    learning_rate: float = 1.0
    clip_norm: float = 0.25
    init_std: float = 0.01


SETTINGS = Settings()

# The forward check's tolerances (tolerances.py), applied to the loss curve and the final
# parameters; the module docstring states the measured margin (≥ MIN_MARGIN = 5×).
PARITY_TOLERANCES = {dtype: tolerance_for(dtype, "forward") for dtype in ("float32", "float64")}
DECODER = ("W_hq", "b_q")


@lru_cache(maxsize=1)
def training_text() -> str:
    return resources.files("lstm_conformance.spec").joinpath(TEXT_FILE).read_text(encoding="utf-8")


def parity_tolerance(dtype: str) -> Tolerance:
    return PARITY_TOLERANCES[dtype]


# A step of the LSTM: (problem) -> y, and (problem, grad_y) -> gradients of every parameter.
Forward = Callable[[Problem], np.ndarray]
Backward = Callable[[Problem, np.ndarray], dict]


def initial_parameters(config: LSTMConfig, vocab: int, seed: int, settings: Settings) -> dict:
    """LSTM parameters (canonical names) and the decoder's, all from N(0, init_std²)."""
    rng = np.random.default_rng([seed, zlib.crc32(b"training-parity init")])
    shapes = dict(parameter_shapes(config), W_hq=(config.hidden_size, vocab), b_q=(vocab,))
    return {name: rng.normal(0.0, settings.init_std, size=shape) for name, shape in shapes.items()}


def batches(data: np.ndarray, seed: int, settings: Settings) -> np.ndarray:
    """The start of each window, (steps, batch): the same for every run with this seed."""
    rng = np.random.default_rng([seed, zlib.crc32(b"training-parity batches")])
    return rng.integers(0, len(data) - settings.seq_len - 1, size=(settings.steps, settings.batch))


def train(forward: Forward, backward: Backward, dtype: str, seed: int, settings: Settings = SETTINGS) -> dict:
    """Train the character model with this LSTM; {"loss": (steps,), "params": final float64
    parameters (LSTM and decoder), "grad_norm": (steps,) before clipping}."""
    text = training_text()
    vocab = sorted(set(text))
    data = np.array([vocab.index(ch) for ch in text])
    V, T, B = len(vocab), settings.seq_len, settings.batch
    config = LSTMConfig(input_size=V, hidden_size=settings.hidden_size)
    params = initial_parameters(config, V, seed, settings)
    eye = np.eye(V)
    losses, norms = [], []
    for starts in batches(data, seed, settings):
        window = data[starts[None, :] + np.arange(T + 1)[:, None]]  # (T + 1, B)
        inputs, targets = window[:-1], window[1:]
        problem = Problem(case_id=f"{CASE_ID}/training", dtype=dtype, config=config, x=eye[inputs],
                          params={k: round_to_dtype(v, dtype) for k, v in params.items() if k not in DECODER})
        y = _shaped("y", forward(problem), (T, B, config.hidden_size))
        logits = y @ params["W_hq"] + params["b_q"]
        logits -= logits.max(axis=-1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=-1, keepdims=True)
        picked = np.take_along_axis(prob, targets[..., None], axis=-1)[..., 0]
        losses.append(float(-np.log(picked).mean()))
        d_logits = prob - eye[targets]
        d_logits /= T * B
        grads = {"W_hq": np.einsum("tbh,tbv->hv", y, d_logits), "b_q": d_logits.sum(axis=(0, 1))}
        grad_y = round_to_dtype(d_logits @ params["W_hq"].T, dtype)
        lstm_grads = backward(problem, grad_y)
        grads.update({k: _shaped(f"the gradient of {k}", lstm_grads.get(k), params[k].shape)
                      for k in params if k not in DECODER})
        norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
        norms.append(norm)
        scale = settings.clip_norm / norm if norm > settings.clip_norm else 1.0
        for k in params:
            params[k] = params[k] - settings.learning_rate * scale * grads[k]
    return {"loss": np.array(losses), "grad_norm": np.array(norms), "params": params}


class MissingOrMisshapen(ValueError):
    """The implementation's backward pass returned no array, or one of the wrong shape, for a
    parameter: a failure of the implementation (as a wrong-shaped output is), not an error."""


def _shaped(what: str, value, shape: tuple) -> np.ndarray:
    """value as a float64 array of this shape; MissingOrMisshapen when it is not."""
    if value is None:
        raise MissingOrMisshapen(f"training-parity: the implementation returned no {what}")
    array = np.asarray(value, dtype=np.float64)
    if array.shape != tuple(shape):
        raise MissingOrMisshapen(f"training-parity: {what} has shape {array.shape}, expected {tuple(shape)}")
    return array


def reference_steps() -> tuple[Forward, Backward]:
    """The reference's forward (lstm_forward) and backward (lstm_backward) for train(). train()
    calls the backward on the problem it has just run forward, so the backward reuses that
    forward pass's Step records instead of running it a second time (the same numbers)."""
    last = {}  # the latest forward: {"problem": ..., "result": ...}

    def forward(problem: Problem) -> np.ndarray:
        result = lstm_forward(problem.config, problem.x, problem.params, keep_steps=True)
        last.update(problem=problem, result=result)
        return result.y

    def backward(problem: Problem, grad_y: np.ndarray) -> dict:
        ran = last["result"] if last.get("problem") is problem else None  # None: run the forward pass
        return lstm_backward(problem.config, problem.x, problem.params, grad_y=grad_y, forward=ran)

    return forward, backward


def reference_training(dtype: str, seed: int, settings: Settings = SETTINGS, cache=None) -> dict:
    """The reference's training run, the same for every adapter: computed once, and kept in
    `cache` (a ReferenceCache, in memory and on disk) when given, under a key that covers the
    reference's source, this module's, the text, the settings, the dtype and the seed."""
    if cache is None:
        return train(*reference_steps(), dtype, seed, settings)
    digest = hashlib.sha256(f"{reference_fingerprint()}|training-parity|{settings!r}|{dtype}|{seed}".encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(training_text().encode())

    def compute():
        result = train(*reference_steps(), dtype, seed, settings)
        return {"loss": result["loss"], "grad_norm": result["grad_norm"],
                **{f"param:{k}": v for k, v in result["params"].items()}}

    flat = cache._cached(digest.hexdigest(), compute)  # noqa: SLF001  (the cache's one entry point for any result)
    return {"loss": flat["loss"], "grad_norm": flat["grad_norm"],
            "params": {k[len("param:"):]: v for k, v in flat.items() if k.startswith("param:")}}


def implementation_steps(run) -> tuple[Forward, Backward]:
    """The adapter's forward (prepare + call) and backward (gradients with upstream on y only)."""
    def forward(problem):
        return run.execute(problem)[0].get("y")

    def backward(problem, grad_y):
        return run.gradients(problem, {"y": grad_y, "h_n": None, "c_n": None})

    return forward, backward


def compare_training(expected: dict, got: dict, dtype: str, config=None) -> list[dict]:
    """The loss curve and each final parameter array, compared under the parity tolerance."""
    tol = parity_tolerance(dtype)
    out = [compare_output("loss", expected["loss"], got["loss"], tol, dtype, config, axes=("step",))]
    for name, exp in expected["params"].items():
        scaled = Tolerance(atol=tol.atol * max(1.0, float(np.max(np.abs(exp)))), rtol=tol.rtol)
        axes = ("row", "col")[: exp.ndim]
        out.append(compare_output(f"final {name}", exp, got["params"][name], scaled, dtype, config, axes=axes))
    return out


class TrainingParityCheck(Check):
    name = "training-parity"
    about = (f"the textbook character model trained {SETTINGS.steps} SGD steps with the implementation vs the "
             f"reference: same loss curve and final parameters (case {CASE_ID} only)")

    def applies(self, case) -> bool:
        return case.id == CASE_ID and case.expect_error is None

    def unsupported(self, run) -> Optional[str]:
        if run.dtype not in PARITY_TOLERANCES:
            return (f"training parity is defined for {' and '.join(PARITY_TOLERANCES)} only: no tolerance for "
                    f"{SETTINGS.steps} training steps in {run.dtype} has been measured")
        reason = run.gradients_unsupported()
        return None if reason is None else f"{reason}: training needs the backward pass"

    def judge(self, run, record: dict) -> None:
        seed = run.case.seed
        expected = reference_training(run.dtype, seed, cache=run.cache)
        try:
            got = train(*implementation_steps(run), run.dtype, seed)
        except MissingOrMisshapen as err:
            finish(record, [], [str(err)])
            self._diagnose(run, record)
            return
        comparisons = compare_training(expected, got, run.dtype)
        record["tolerance"] = parity_tolerance(run.dtype).as_dict()
        record["tolerance_note"] = "per step on the loss; on parameters atol × max(1, max |expected|) per array"
        record["training"] = {"steps": SETTINGS.steps, "loss_first": float(expected["loss"][0]),
                              "loss_last": float(expected["loss"][-1]), "loss_last_got": float(got["loss"][-1])}
        record["outputs"] = comparisons
        failing = [c for c in comparisons if not c["passed"]]
        # the loss, then the worst parameter array only (the record keeps every comparison)
        shown = [c for c in failing if c["output"] == "loss"]
        shown += sorted((c for c in failing if c["output"] != "loss"), key=lambda c: -c.get("tolerance_used", np.inf))[:1]
        finish(record, [], [c["message"] for c in shown])
        if len(failing) > len(shown):
            record["message"] += f"; {len(failing) - len(shown)} more arrays out of tolerance"
        if failing:
            off = np.flatnonzero(failing_mask(expected["loss"], got["loss"], parity_tolerance(run.dtype)))
            where = (f"the loss departs at step {off[0]} of {SETTINGS.steps}" if off.size
                     else "the loss curve agrees, the final parameters do not")
            record["training"]["first_loss_step_off"] = int(off[0]) if off.size else None
            record["message"] = f"training diverges from the reference's ({where}): {record['message']}"
            self._diagnose(run, record)
        record.update(worst_of(comparisons))

    @staticmethod
    def _diagnose(run, record: dict) -> None:
        """The defect that the case's own forward outputs or gradients show (training uses both),
        so that one defect is one group whichever check meets it."""
        if not run.diagnose:
            return
        from .gradients import GradientsCheck  # the gradients check's comparison and diagnosis, reused
        scratch = {"message": ""}
        try:
            GradientsCheck().judge(run, scratch)
        except Exception:  # noqa: BLE001 - the gradients check reports its own errors
            return
        diagnosis = scratch.get("diagnosis")
        if diagnosis and diagnosis["patterns"]:
            attach(record, diagnosis)
