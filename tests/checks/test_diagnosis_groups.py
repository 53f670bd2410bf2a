"""One defect, one group: a failure that several known defects reproduce joins the group of
the defect that reproduces the most failures of its implementation."""
from lstm_conformance.report.summary import problem_groups


def failure(impl, *patterns, case="c"):
    return {"impl": impl, "case": case, "dtype": "float32", "check": "state-chaining", "status": "fail",
            "message": "m", "diagnosis": {"patterns": list(patterns)}}


def test_an_ambiguous_failure_joins_the_group_its_implementation_has_most_of():
    records = [failure("a", "c0 ignored (taken as zeros)") for _ in range(3)]
    records += [failure("a", "initial state ignored (h0 and c0 taken as zeros)", "c0 ignored (taken as zeros)")]
    records += [failure("b", "initial state ignored (h0 and c0 taken as zeros)") for _ in range(2)]
    records += [failure("b", "initial state ignored (h0 and c0 taken as zeros)", "c0 ignored (taken as zeros)")]
    groups = {(g.impl, g.label): g.count for g in problem_groups(records)}
    assert groups == {("a", "diagnosis: c0 ignored (taken as zeros)"): 4,
                      ("b", "diagnosis: initial state ignored (h0 and c0 taken as zeros)"): 3}


def test_on_a_tie_the_first_listed_defect_names_the_group():
    records = [failure("a", "gate blocks i and f swapped", "time reversed (steps processed from T-1 down to 0)")]
    assert [g.label for g in problem_groups(records)] == ["diagnosis: gate blocks i and f swapped"]
