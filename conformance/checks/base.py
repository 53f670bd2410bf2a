"""What every check shares: the per-(case, dtype, adapter) state computed at most once, the
reference caches shared by all adapters, and the comparison of a set of outputs.

A check is a Check (below) with
  name        the record's "check" value
  about       one line for tables and `lstm-conformance list checks`
  applies(case)        False when the check means nothing for this case (no record at all),
                       e.g. padding invariance for a case without lengths
  unsupported(run)     why the adapter cannot take this check (record status "unsupported"),
                       e.g. no gradient support; None when it can
  run(run, record)     fills record["status"], record["message"] and the check's metrics
"""
from __future__ import annotations

import zlib
from typing import Optional

import numpy as np

from ..adapter import gradients_to_numpy, prepared_callable, result_dtypes
from ..metrics import compare_output, worst_of
from ..spec.loader import CaseSpec
from ..spec.materialize import materialize, round_to_dtype
from ..spec.model import OUTPUTS, UPSTREAM_TERMS, Problem
from .reference_cache import ReferenceCache  # noqa: F401  (re-exported: checks share one cache)
from ..tolerances import Tolerance



def seeded_rng(case: CaseSpec, purpose: str) -> np.random.Generator:
    """A generator fixed by the case seed and a purpose, so every run draws the same values."""
    return np.random.default_rng([case.seed, zlib.crc32(purpose.encode())])


def upstream_gradients(run: "CaseRun") -> dict:
    """Random upstream gradients U(-1, 1) for y, h_n and c_n, shaped like the reference
    outputs and rounded to the tested dtype (the same values for every adapter)."""
    rng = seeded_rng(run.case, "upstream")
    ref = run.reference
    return {k: round_to_dtype(rng.uniform(-1.0, 1.0, size=ref[k].shape), run.dtype) for k in UPSTREAM_TERMS["all"]}


class Check:
    """The check interface (module docstring), with the defaults most checks keep: it applies
    to every valid case (not an expect_error case), and every adapter can take it."""
    name: str
    about: str

    def applies(self, case) -> bool:
        return case.expect_error is None

    def unsupported(self, run) -> Optional[str]:
        return None

    def judge(self, run, record: dict) -> None:
        raise NotImplementedError


class CaseRun:
    """One case in one dtype on one adapter, as the checks see it. The problem, the adapter's
    first run and the reference are computed lazily, once; a failure of the first run is
    remembered and raised again to every check that needs it."""

    def __init__(self, case: CaseSpec, dtype: str, adapter, cache: ReferenceCache, diagnose: bool = True):
        self.case, self.dtype, self.adapter, self.cache, self.diagnose = case, dtype, adapter, cache, diagnose
        self._problem: Optional[Problem] = None
        self._first = None  # (outputs, dtypes) or the exception of the first run
        self._callable = None  # what prepare() returned for the first run
        self._gradients_all = None  # see gradients_for_all_upstream

    @property
    def problem(self) -> Problem:
        if self._problem is None:
            self._problem = materialize(self.case, self.dtype)
        return self._problem

    @property
    def capabilities(self):
        return self.adapter.capabilities()

    def unsupported_reason(self) -> Optional[str]:
        return self.adapter.unsupported_reason(self.problem)

    @property
    def reference(self) -> dict:
        return self.cache.get(self.problem)

    def execute(self, problem: Problem) -> tuple[dict, dict]:
        """prepare + call on any (possibly derived) problem: (float64 copies of the outputs,
        their native dtypes)."""
        return self._call(prepared_callable(self.adapter, problem))

    def _call(self, prepared) -> tuple[dict, dict]:
        # Copies, because an implementation may reuse its buffers on the next call.
        result = prepared()
        dtypes = result_dtypes(result)
        outputs = {k: np.array(v, dtype=np.float64, copy=True) for k, v in self.adapter.to_numpy(result).items()}
        return outputs, dtypes

    def call_again(self) -> dict:
        """The outputs of calling the first run's prepared callable once more."""
        self._first_run()
        return self._call(self._callable)[0]

    def _first_run(self):
        if self._first is None:
            try:
                self._callable = prepared_callable(self.adapter, self.problem)
                self._first = self._call(self._callable)
            except Exception as err:  # remembered: every check needing the run reports it
                self._first = err
        if isinstance(self._first, Exception):
            raise self._first
        return self._first

    @property
    def outputs(self) -> dict:
        """The adapter's outputs on the case's problem (first run)."""
        return self._first_run()[0]

    @property
    def output_dtypes(self) -> dict:
        return self._first_run()[1]

    def gradients(self, problem: Problem, upstream: dict) -> dict:
        return gradients_to_numpy(self.adapter.gradients(problem, upstream))

    def gradients_for_all_upstream(self) -> dict:
        """Copies of the adapter's gradients for upstream_gradients(self) (y, h_n and c_n
        together), from the first call any check made: the gradients check compares them with
        the reference and the determinism check with a second call, so the two checks need one
        backward pass less. Copies: an adapter may reuse its buffers on the next call."""
        if self._gradients_all is None:
            got = self.gradients(self.problem, upstream_gradients(self))
            self._gradients_all = {k: np.array(v, copy=True) for k, v in got.items()}
        return self._gradients_all

    def gradients_unsupported(self) -> str | None:
        """Why the adapter's gradients() does not apply to this problem, or None."""
        if not self.capabilities.gradients:
            return "the adapter declares no gradient support (Capabilities.gradients)"
        return self.adapter.gradients_unsupported_reason(self.problem)


def compare_outputs(expected: dict, got: dict, tol: Tolerance, dtype: str, config, names=OUTPUTS,
                    required=UPSTREAM_TERMS["all"]) -> list[dict]:
    """compare_output for each output present in `expected`; a required output missing from
    `got` is a failing comparison."""
    out = []
    for name in names:
        if name not in expected:
            continue
        if name not in got:
            if name in required:
                out.append({"output": name, "passed": False, "message": f"no {name} returned"})
            continue
        out.append(compare_output(name, expected[name], got[name], tol, dtype, config))
    return out


def finish(record: dict, comparisons: list[dict], failures: list[str] = (), prefix: str = "") -> None:
    """Status, message and worst-case metrics of a record from its comparisons."""
    messages = [prefix + c["message"] for c in comparisons if not c["passed"]] + list(failures)
    record["status"] = "fail" if messages else "pass"
    record["message"] = "; ".join(messages)
    record.update(worst_of(comparisons))
