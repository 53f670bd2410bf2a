"""`errors`: invalid inputs must raise, not return numbers (SPEC.md §9).

Two sources of invalid inputs:
* the library's expect_error cases, as written;
* derived from a valid case (only cases with T ≤ 20: the rejection does not depend on size):
  T = 0, x one feature too wide, h0 one unit too wide, and x in another dtype than the
  parameters (only for adapters declaring Capabilities.mixed_dtypes, since the others
  receive every array in the problem's dtype by contract).

An exception counts as the rejection only when the same adapter runs the problem's valid twin
(the case before the invalid change): for a derived input that is the case itself, for an
expect_error case the case with the invalid value replaced by a valid one (`valid_twin`).
An adapter that cannot run the twin either gets status error ("could not run the valid twin"),
since its exception says nothing about the invalid input. A breach of the adapter contract
(prepare returning no callable, the call returning no outputs) is an error of the adapter
whatever the input.

T = 0 and a length of 0 (SPEC.md §9) have two acceptable answers: the rejection (PyTorch),
or the answer the ONNX operator allows (`silent_answer`): an empty y and the initial state as
the final state; for a row of length 0, zeros in y and c and its initial state as its final
state, the other rows as usual. Any other answer (other shapes, other values) fails.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from ..adapter import AbnormalExit, ContractError, prepared_callable
from ..diagnosis import attach, diagnose_accepted_inputs
from ..metrics import failing_mask
from ..reference import lstm_forward, validate_problem
from ..spec.loader import CaseSpec, SpecError, check_case
from ..spec.materialize import materialize
from ..spec.model import Problem, state_shapes
from ..tolerances import tolerance_for
from . import derive
from .base import Check
from .limits import DERIVED_ERRORS_MAX_SEQ_LEN

OTHER_DTYPE = {"float64": "float32", "float32": "float64", "float16": "float32", "bfloat16": "float32"}
T0 = "T = 0"
MUST_RAISE = "returned outputs (it must raise)"
NOT_ACCEPTED = "not the accepted answer either"


def _short(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip().splitlines()[0]
    return text if len(text) < 200 else text[:200] + " ..."


def attempt(run, problem):
    """(outputs as float64 arrays, None) when the adapter returns outputs for `problem`,
    (None, the exception's message) when it raises."""
    try:
        result = prepared_callable(run.adapter, problem)()
        outputs = {k: np.array(v, dtype=np.float64) for k, v in run.adapter.to_numpy(result).items()}
    except (ContractError, AbnormalExit):  # the adapter's fault or a crash: never a rejection
        raise
    except Exception as err:  # raising is the required behaviour
        return None, _short(err)
    return outputs, None


# ----------------------------------------------------------------------------- the ONNX answer

def silent_answer(problem: Problem) -> Optional[dict]:
    """The ONNX-style outputs for T = 0 or lengths with zeros (SPEC.md §9), or None when the
    problem is invalid in some other way too (then it must raise)."""
    config, lengths = problem.config, problem.lengths
    T = problem.seq_len
    zero_rows = lengths is not None and np.size(lengths) and np.min(lengths) == 0
    if T != 0 and not zero_rows:
        return None
    if zero_rows:
        lengths = np.asarray(lengths)
        if T == 0 or lengths.shape != (problem.batch,) or lengths.min() < 0 or lengths.max() > T:
            return None
    check_lengths = None if lengths is None else np.maximum(lengths, 1)
    try:  # everything but T and the zero lengths must be valid
        validate_problem(config, derive.with_seq_len(problem, max(T, 1)).x, problem.params, problem.h0, problem.c0,
                         check_lengths)
    except ValueError:
        return None
    shapes = state_shapes(config, problem.batch)
    h0 = np.zeros(shapes["h0"]) if problem.h0 is None else np.asarray(problem.h0, np.float64)
    c0 = np.zeros(shapes["c0"]) if problem.c0 is None else np.asarray(problem.c0, np.float64)
    D, S, H = config.num_directions, config.output_size, config.hidden_size
    out_shape = problem.x.shape[:-1]
    if T == 0:
        return {"y": np.zeros(out_shape + (D * S,)), "c": np.zeros(out_shape + (D * H,)), "h_n": h0, "c_n": c0}
    # rows of length 0: y and c zero, initial state kept; the others as the reference computes them
    live = np.nonzero(lengths > 0)[0]
    answer = {"y": np.zeros(out_shape + (D * S,)), "c": np.zeros(out_shape + (D * H,)), "h_n": h0.copy(),
              "c_n": c0.copy()}
    if live.size:
        sub = derive.select_rows(problem, live)
        ref = lstm_forward(config, sub.x, sub.params, sub.h0, sub.c0, sub.lengths).as_dict()
        bx = config.batch_axis
        for name in ("y", "c"):
            index = [slice(None)] * answer[name].ndim
            index[bx] = live
            answer[name][tuple(index)] = ref[name]
        answer["h_n"][:, live] = ref["h_n"]
        answer["c_n"][:, live] = ref["c_n"]
    return answer


def judge_silent_answer(problem: Problem, outputs: dict) -> tuple[bool, str]:
    """(acceptable, why) for outputs returned where SPEC.md §9 allows the ONNX answer."""
    expected = silent_answer(problem)
    if expected is None:
        return False, MUST_RAISE
    tol = tolerance_for(problem.dtype)
    wrong = []
    for name in ("y", "h_n", "c_n", "c"):
        if name not in outputs:
            if name != "c":
                wrong.append(f"no {name}")
            continue
        got, want = outputs[name], expected[name]
        if got.shape != want.shape:
            wrong.append(f"{name} of shape {got.shape}, expected {want.shape}")
        elif failing_mask(want, got, tol).any():
            what = "zeros past the length / the initial state" if name != "y" or problem.seq_len else "empty"
            wrong.append(f"{name} differs from the accepted answer ({what})")
    if wrong:
        return False, (f"{NOT_ACCEPTED} (empty y with the initial state as final state; a length-0 row: zeros "
                       "and its initial state): " + "; ".join(wrong))
    return True, "returned the answer SPEC.md §9 accepts (ONNX: empty y / zeros, initial state as final state)"


# ----------------------------------------------------------------------------- valid twins

def valid_twin(case: CaseSpec) -> tuple[Optional[CaseSpec], str]:
    """The expect_error case with its invalid values replaced by valid ones (T = 0 -> 1, a
    shape override dropped, lengths brought into 1..T and to one per row, proj_size below
    hidden_size), as (twin, what was changed); (None, why) when no valid twin can be derived."""
    shape, options = dict(case.shape), dict(case.options)
    changes = []
    if shape["seq_len"] < 1:
        shape["seq_len"] = 1
        changes.append("T = 1")
    H, P = shape["hidden_size"], options.get("proj_size", 0)
    if P and P >= H:
        options["proj_size"] = H - 1 if H > 1 else 0
        changes.append(f"proj_size {options['proj_size']}")

    def drop_shape(section: dict, label: str) -> dict:
        out = {}
        for key, spec in section.items():
            if isinstance(spec, dict) and "shape" in spec:
                spec = {k: v for k, v in spec.items() if k != "shape"}
                changes.append(f"{label}{key} of its configured shape")
            out[key] = spec
        return out

    inputs = drop_shape(case.inputs, "")
    parameters = drop_shape(case.parameters, "")
    if "lengths" in inputs:
        T, B = shape["seq_len"], shape["batch"]
        given = list(inputs["lengths"])
        fixed = [min(max(int(n), 1), T) for n in given[:B]] + [T] * max(0, B - len(given))
        if fixed != given:
            inputs["lengths"] = fixed
            changes.append(f"lengths {fixed}")
    if not changes:
        return None, "no invalid value found that a valid one could replace"
    twin = dataclasses.replace(case, id=f"{case.id} (valid twin)", shape=shape, options=options, inputs=inputs,
                               parameters=parameters, expect_error=None, expect=[])
    try:
        check_case(twin)
    except SpecError as err:
        return None, f"the derived twin ({', '.join(changes)}) is not valid either: {err.message}"
    return twin, ", ".join(changes)


class ErrorsCheck(Check):
    name = "errors"
    about = "invalid inputs raise (or, for T = 0 and length 0, give the ONNX answer), when the valid twin runs"

    def applies(self, case) -> bool:
        return case.expect_error is not None or case.shape["seq_len"] <= DERIVED_ERRORS_MAX_SEQ_LEN

    def invalid_variants(self, run) -> list[tuple[str, str, object]]:
        """(kind, what is wrong here, derived problem) for a valid case; the kind is the same
        in every case, so that one behaviour is one finding over the cases it covers."""
        problem, caps = run.problem, run.capabilities
        variants = [(T0, T0, derive.with_seq_len(problem, 0)),
                    ("x one feature too wide", f"x with {problem.config.input_size + 1} features for input_size "
                     f"{problem.config.input_size}", derive.with_wider_input(problem))]
        if "initial_state" in caps.features:
            variants.append(("h0 one unit too wide", "h0 with one unit too many", derive.with_wider_h0(problem)))
        if caps.mixed_dtypes:
            other = OTHER_DTYPE[run.dtype]
            variants.append(("x in another dtype than the parameters", f"x in {other}, parameters in {run.dtype}",
                             derive.with_array_dtypes(problem, {"x": other})))
        return variants

    @staticmethod
    def _twin_failed(record: dict, what: str, message: str) -> None:
        record["valid_twin"] = {"twin": what, "ran": False, "message": message}
        record.update(status="error", message=(f"could not run the valid twin ({what}), so its exceptions say nothing "
                                               f"about invalid inputs: {message}"))

    def judge(self, run, record: dict) -> None:
        if run.case.expect_error is not None:
            self._run_error_case(run, record)
            return
        try:
            run.outputs  # the valid twin of every derived input: the case itself
        except ContractError:
            raise
        except Exception as err:  # noqa: BLE001 - the adapter's failure, reported as such
            self._twin_failed(record, "the case itself", _short(err))
            return
        record["valid_twin"] = {"twin": "the case itself", "ran": True}
        results, failed, accepted = [], [], []
        for kind, what, problem in self.invalid_variants(run):
            outputs, reason = attempt(run, problem)
            entry = {"input": what, "kind": kind, "raised": reason is not None, "message": reason or "returned outputs"}
            if outputs is not None:
                ok, why = judge_silent_answer(problem, outputs) if what == T0 else (False, MUST_RAISE)
                entry.update(accepted=ok, message=why)
                if not ok:
                    failed.append(what if why == MUST_RAISE else f"{what} ({why})")
                    accepted.append((problem, outputs))
            results.append(entry)
        record["invalid_inputs"] = results
        if failed:
            record.update(status="fail",
                          message="returned outputs for invalid input (it must raise): " + "; ".join(failed))
            if run.diagnose:
                attach(record, diagnose_accepted_inputs(accepted, run.dtype, silent_answer))
        else:
            record.update(status="pass", message="")

    def _run_error_case(self, run, record: dict) -> None:
        twin, what = valid_twin(run.case)
        if twin is None:
            record["valid_twin"] = {"twin": None, "ran": None, "message": what}
            note = f" (rejection not confirmed: {what})"
        else:
            _, failure = attempt(run, materialize(twin, run.dtype))
            if failure is not None:
                self._twin_failed(record, f"the same case with {what}", failure)
                return
            record["valid_twin"] = {"twin": f"the same case with {what}", "ran": True}
            note = ""
        outputs, reason = attempt(run, run.problem)
        if outputs is None:
            record.update(status="pass", message=f"rejected as required ({run.case.expect_error}): {reason}{note}")
            return
        ok, why = judge_silent_answer(run.problem, outputs)
        if ok:
            record.update(status="pass", message=why + note)
        elif why == MUST_RAISE:
            record.update(status="fail", message=f"returned outputs for invalid input; it must raise "
                                                 f"({run.case.expect_error}){note}")
        else:
            record.update(status="fail", message=f"returned outputs for invalid input that are {why}; it must raise "
                                                 f"or give that answer ({run.case.expect_error}){note}")
