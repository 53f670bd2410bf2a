"""The run summary: many records read as a few groups, each with its count and one example."""
from lstm_conformance.report import summary


def rec(status, impl="a", check="forward", dtype="float32", case="c", message="", **extra):
    return {"status": status, "impl": impl, "check": check, "dtype": dtype, "case": case, "message": message, **extra}


def swapped(check, dtype):
    return rec("fail", check=check, dtype=dtype, message="y[t=0]: expected 1, got 2 (abs error 1); h_n ...",
               diagnosis={"patterns": ["gate blocks i and f swapped", "h_n and c_n swapped"]})


def test_failures_group_by_diagnosis_then_check_and_errors_by_exception():
    records = [swapped("dtypes", "float16"), swapped("forward", "float64"), swapped("gradients", "float32"),
               rec("fail", check="determinism", message="runs differ"),
               rec("error", check="forward", message="RuntimeError: boom"),
               rec("error", check="strided", message="RuntimeError: boom again"),
               rec("pass")]
    (failures,) = summary.summarize(records)
    assert [(g.label, g.count) for g in failures.groups] == [
        ("diagnosis: gate blocks i and f swapped", 3), ("error: RuntimeError", 2),
        ("determinism check failed (no known defect pattern)", 1)]
    assert failures.groups[0].example["check"] == "forward"  # the most direct evidence
    lines = summary.render(records)
    assert lines[0] == "a: 1 pass, 4 fail, 2 error"
    assert "         e.g. c [float64] forward: y[t=0]: expected 1, got 2 (abs error 1)" in lines


def test_unsupported_and_skipped_are_one_line_per_reason_and_implementation():
    records = ([rec("unsupported", dtype=d, check=c, message="no peepholes") for d in ("float32", "float64")
                for c in ("forward", "gradients")] + [rec("skipped", impl="gpu", message="no GPU")] * 3)
    assert summary.render(records) == ["a: 4 unsupported", "gpu: 3 skipped", "unsupported (by reason): 4",
                                       "      4  a: no peepholes", "skipped (by reason): 3", "      3  gpu: no GPU"]


def test_long_sections_end_with_a_count_of_the_rest():
    records = [rec("unsupported", message=f"reason {i}") for i in range(summary.MAX_GROUPS + 3)]
    assert summary.render(records)[-1] == "  ... and 3 more groups (3 records)"


def test_something_ran():
    assert not summary.something_ran([rec("unsupported"), rec("skipped")])
    assert summary.something_ran([rec("xfail")]) and not summary.something_ran([])
