"""Markdown tables count statuses apart and show the worst error."""
from lstm_conformance.report.tables import correctness_markdown, speed_markdown


def rec(impl, group, status, max_abs=None, message="", case=None, check="forward"):
    return {"impl": impl, "group": group, "status": status, "max_abs": max_abs, "message": message,
            "case": case or f"{group}-{status}", "dtype": "float32", "check": check}


def test_correctness_table_counts_pass_over_applicable_and_lists_reasons():
    records = [rec("a", "toy", "pass", 1e-7), rec("a", "toy", "fail", 0.3, "y[t=5]: bad"),
               rec("a", "toy", "unsupported", message="no peepholes"), rec("b", "toy", "skipped", message="no GPU")]
    text = correctness_markdown(records)
    row_a = next(line for line in text.splitlines() if line.startswith("| a"))
    assert "1/2 (3.0e-01) 1 unsupported" in row_a
    assert "– 1 skipped" in next(line for line in text.splitlines() if line.startswith("| b"))
    assert "y[t=5]: bad" in text and "no peepholes" in text and "no GPU" in text


def test_speed_table_shows_ratio_and_reason_for_unmeasured():
    speed = [{"shape": "t1b1i1h1", "impl": "torch-lstm", "status": "ok", "median": 2e-3, "iqr": 1e-4, "rounds": 9, "ratio": 1.0},
             {"shape": "t1b1i1h1", "impl": "numpy", "status": "ok", "median": 3e-3, "iqr": 1e-4, "rounds": 9, "ratio": 1.5},
             {"shape": "t1b1i1h1", "impl": "cuda", "status": "not measured", "message": "no CUDA device"}]
    text = speed_markdown(speed)
    assert "1.50×" in text and "3 ms" in text and "no CUDA device" in text


def test_a_case_fails_when_any_of_its_checks_fails_and_checks_are_tabled_apart():
    records = [rec("a", "toy", "pass", 1e-7, case="c1"), rec("a", "toy", "fail", None, "dL/dc0 wrong", case="c1", check="gradients"),
               rec("a", "toy", "pass", 2e-7, case="c2"), rec("a", "toy", "pass", None, case="c2", check="gradients")]
    text = correctness_markdown(records)
    lines = text.splitlines()
    assert "1/2 (2.0e-07)" in next(line for line in lines if line.startswith("| a"))
    by_check = lines[lines.index("## By check"):]
    row = next(line for line in by_check if line.startswith("| a"))
    assert "| 2/2 " in row and "| 1/2 " in row
    assert "gradients" in text and "dL/dc0 wrong" in text


def test_failures_are_grouped_by_diagnosis_with_their_cases():
    def failure(case, check="forward"):
        return {"impl": "mine", "group": "g", "case": case, "dtype": "float32", "check": check, "status": "fail",
                "message": f"y[t=0]: expected 1, got 2 — diagnosis: reproduced by: gate blocks i and f swapped",
                "diagnosis": {"patterns": ["gate blocks i and f swapped"],
                              "summary": "reproduced by: gate blocks i and f swapped"}}
    records = [failure(f"case-{i:02}") for i in range(99)] + [
        {"impl": "mine", "group": "g", "case": "other", "dtype": "float32", "check": "strided", "status": "error",
         "message": "RuntimeError: boom"}]
    text = correctness_markdown(records)
    failures = text[text.index("## Failures and errors"):]
    assert "100 results in 2 groups" in failures
    assert "### 1. mine: 99 results" in failures and "### 2. mine: 1 result" in failures
    assert failures.count("a known defect reproduces it: gate blocks i and f swapped") == 1
    assert "`case-00 [float32] forward`" in failures and "`case-98 [float32] forward`" in failures
    assert "The adapter raised RuntimeError in the strided check." in failures


def test_a_failure_without_a_known_pattern_shows_where_it_deviates():
    record = {"impl": "mine", "group": "g", "case": "c", "dtype": "float32", "check": "forward", "status": "fail",
              "message": "y[t=3]: bad", "diagnosis": {"patterns": [], "summary": "no known defect pattern "
                                                      "reproduces it; deviates in y from step 3 (rows [0], units [1])"}}
    text = correctness_markdown([record])
    assert "The forward check failed; no known defect pattern reproduces it." in text
    assert "Diagnosis: No known defect pattern reproduces it; deviates in y from step 3" in text
