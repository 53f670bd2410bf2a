"""Coverage as data: the feature × implementation matrix with reasons, and the counts of
cases and checks run per implementation."""
from fixtures.adapters import ForwardOnly

from lstm_conformance.report.coverage import feature_matrix, run_counts
from lstm_conformance.implementations.numpy_lstm import NumpyAdapter
from lstm_conformance.implementations.torch_cell import TorchCellAdapter
from lstm_conformance.implementations.torch_lstm import TorchLSTMAdapter
from lstm_conformance.harness.runner import run_suite
from lstm_conformance.report.tables import coverage_markdown


def test_the_matrix_says_what_is_supported_and_why_not():
    matrix = feature_matrix([NumpyAdapter(), TorchCellAdapter(), TorchLSTMAdapter(), ForwardOnly()])
    rows = matrix["rows"]
    assert rows["torch-cell"]["layers"] == {"supported": False, "note": "one nn.LSTMCell is one layer"}
    assert rows["torch-lstm"]["peepholes"]["note"] == "nn.LSTM has no peephole connections"
    assert rows["numpy"]["peepholes"]["supported"] and rows["numpy"]["gradients"]["supported"]
    assert not rows["forward-only"]["gradients"]["supported"]
    assert "gradients check is unsupported" in rows["forward-only"]["gradients"]["note"]
    assert rows["torch-lstm"]["float16"]["supported"] and rows["torch-lstm"]["mixed dtypes"]["supported"]
    assert not rows["numpy"]["mixed dtypes"]["supported"] and "mixed dtypes" in matrix["columns"]
    text = coverage_markdown(matrix)
    assert "| layers " in text and "no: one nn.LSTMCell is one layer" in text


def test_counts_of_cases_and_checks_run(library):
    cases = [c for c in library if c.id in ("lengths-with-state", "random/t5b3i4h7/bias/given-state")]
    records = run_suite(cases, [ForwardOnly(), TorchCellAdapter()], ["float32"], diagnose=False)
    counts = run_counts(records)
    # torch-cell has no lengths: one case ran (no half-precision runs: only float32 was asked for)
    assert counts["torch-cell"]["cases"] == 1
    assert counts["torch-cell"]["by_check"]["forward"] == {"pass": 1, "unsupported": 1}
    assert counts["forward-only"]["cases"] == 2
    assert counts["forward-only"]["by_check"]["gradients"] == {"unsupported": 2}
    assert counts["forward-only"]["checks_run"] == sum(1 for r in records if r["impl"] == "forward-only"
                                                       and r["status"] == "pass")
    text = coverage_markdown(feature_matrix([ForwardOnly()]), counts)
    assert "## Cases and checks run" in text and "0 (2 unsupported)" in text
