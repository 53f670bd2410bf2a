"""`errors`: invalid inputs must raise, not return numbers (SPEC.md §9).

Two sources of invalid inputs:
* the library's expect_error cases, as written;
* derived from a valid case (only cases with T ≤ 20: the rejection does not depend on size):
  T = 0, x one feature too wide, h0 one unit too wide, and x in another dtype than the
  parameters (only for adapters declaring Capabilities.mixed_dtypes, since the others
  receive every array in the problem's dtype by contract).
Any exception, in prepare() or in the call, counts as the rejection, except a breach of the
adapter contract (prepare returning no callable, the call returning no outputs), which is an
error of the adapter whatever the input.
"""
from __future__ import annotations

from ..adapter import ContractError, prepared_callable
from . import derive
from .base import Check

MAX_DERIVED_SEQ_LEN = 20
OTHER_DTYPE = {"float64": "float32", "float32": "float64", "float16": "float32", "bfloat16": "float32"}


def _short(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip().splitlines()[0]
    return text if len(text) < 200 else text[:200] + " ..."


def rejects(run, problem):
    """The exception message when the adapter rejects `problem`, None when it returns outputs."""
    try:
        result = prepared_callable(run.adapter, problem)()
        run.adapter.to_numpy(result)
    except ContractError:
        raise
    except Exception as err:  # raising is the required behaviour
        return _short(err)
    return None


class ErrorsCheck(Check):
    name = "errors"
    about = "invalid inputs raise: the library's error cases, and T = 0, wrong shapes, mixed dtypes"

    def applies(self, case) -> bool:
        return case.expect_error is not None or case.shape["seq_len"] <= MAX_DERIVED_SEQ_LEN

    def invalid_variants(self, run) -> list[tuple[str, object]]:
        """(what is wrong, derived problem) pairs for a valid case."""
        problem, caps = run.problem, run.capabilities
        variants = [("T = 0", derive.with_seq_len(problem, 0)),
                    (f"x with {problem.config.input_size + 1} features for input_size "
                     f"{problem.config.input_size}", derive.with_wider_input(problem))]
        if "initial_state" in caps.features:
            variants.append(("h0 with one unit too many", derive.with_wider_h0(problem)))
        if caps.mixed_dtypes:
            other = OTHER_DTYPE[run.dtype]
            variants.append((f"x in {other}, parameters in {run.dtype}",
                             derive.with_array_dtypes(problem, {"x": other})))
        return variants

    def run(self, run, record: dict) -> None:
        if run.case.expect_error is not None:
            reason = rejects(run, run.problem)
            if reason is None:
                record.update(status="fail",
                              message=f"returned outputs for invalid input; it must raise ({run.case.expect_error})")
            else:
                record.update(status="pass", message=f"rejected as required ({run.case.expect_error}): {reason}")
            return
        results = []
        for what, problem in self.invalid_variants(run):
            reason = rejects(run, problem)
            results.append({"input": what, "raised": reason is not None, "message": reason or "returned outputs"})
        record["invalid_inputs"] = results
        accepted = [r["input"] for r in results if not r["raised"]]
        if accepted:
            record.update(status="fail",
                          message="returned outputs for invalid input (it must raise): " + "; ".join(accepted))
        else:
            record.update(status="pass", message="")
