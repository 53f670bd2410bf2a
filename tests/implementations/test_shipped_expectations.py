"""The shipped expectations of built-in adapters: each entry still matches a real failure (no
xpass), and nothing else of that adapter fails."""
import pytest

from lstm_conformance.harness import expectations
from lstm_conformance.harness.registry import load_adapter
from lstm_conformance.harness.runner import run_suite

pytest.importorskip("onnxruntime")

ORT_CASES = {"batch-0", "act-softplus", "cell-clip-binds", "err-seq-len-zero", "err-lengths-zero", "random/t5b3i4h7/bias/given-state"}


def test_onnxruntime_known_defects_are_xfail_and_nothing_else_fails(library):
    known = expectations.builtin(["onnxruntime"])
    assert [e.adapter for e in known] == ["onnxruntime"]
    cases = [c for c in library if c.id in ORT_CASES]
    assert len(cases) == len(ORT_CASES)
    records = expectations.apply(run_suite(cases, [load_adapter("onnxruntime")], ["float32"]), known)
    statuses = {r["status"] for r in records}
    assert "xfail" in statuses and not statuses & {"fail", "error", "xpass"}, \
        [(r["case"], r["check"], r["status"], r["message"][:120]) for r in records if r["status"] in ("fail", "error", "xpass")]
    by_case = {(r["case"], r["check"]): r["status"] for r in records}
    assert by_case[("cell-clip-binds", "forward")] == "xfail"
    assert by_case[("random/t5b3i4h7/bias/given-state", "forward")] == "pass"


def test_message_bound_entries_match_only_failures_that_say_so():
    exp = expectations.parse({"adapter": "a", "xfail": [{"case": "*", "message": "T = 0", "reason": "accepts T = 0"}]})
    failing = {"impl": "a", "case": "c", "dtype": "float32", "check": "errors", "status": "fail",
               "message": "returned outputs for invalid input (it must raise): T = 0"}
    other = dict(failing, message="returned outputs for invalid input (it must raise): x with 4 features")
    passing = dict(failing, status="pass", message="")
    assert expectations.apply_to_record(failing, [exp])["status"] == "xfail"
    assert expectations.apply_to_record(other, [exp])["status"] == "fail"
    assert expectations.apply_to_record(passing, [exp])["status"] == "pass"
