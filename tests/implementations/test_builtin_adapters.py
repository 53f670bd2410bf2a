"""Every built-in adapter (and the example) passes every applicable case of the library."""
from pathlib import Path

import pytest
import torch

from lstm_conformance.harness import expectations
from lstm_conformance.harness.registry import load_adapter
from lstm_conformance.harness.runner import run_suite

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "vectorised_lstm.py") + ":VectorisedLSTM"
KNOWN_FINDINGS = [expectations.load(p) for p in sorted((Path(__file__).resolve().parents[2] / "implementations" / "expectations").glob("*.yaml"))]


@pytest.mark.parametrize("impl", ["numpy", "torch-cell", "torch-lstm", EXAMPLE])
def test_adapter_passes_every_applicable_case(impl, library_runs):
    # every check (run_suite on the whole library, shared with test_tolerances: see conftest.py);
    # real upstream defects the checks find are known findings (xfail, with evidence)
    records = expectations.apply(library_runs(impl), KNOWN_FINDINGS)
    bad = [f"{r['case']} [{r['dtype']}]: {r['status']}: {r['message']}" for r in records if r["status"] in ("fail", "error")]
    assert not bad, "\n".join(bad)
    assert sum(r["status"] == "pass" for r in records) >= 30
    for r in records:
        if r["status"] == "unsupported":
            assert r["message"], "an unsupported case must say why"


def test_numpy_runs_the_linear_toy_and_torch_reports_it_unsupported(library):
    toy = [c for c in library if c.id == "toy-memory-linear"]
    by_impl = {r["impl"]: r for r in run_suite(toy, [load_adapter(n) for n in ("numpy", "torch-cell", "torch-lstm")], ["float64"],
                                               checks=["forward"])}
    assert by_impl["numpy"]["status"] == "pass"
    assert all(lit["passed"] for lit in by_impl["numpy"]["literals"])
    assert {lit["output"] for lit in by_impl["numpy"]["literals"]} == {"c_entering", "y"}
    for name in ("torch-cell", "torch-lstm"):
        assert by_impl[name]["status"] == "unsupported" and "fixed activations" in by_impl[name]["message"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU behaviour")
def test_cuda_is_skipped_with_its_reason_without_a_gpu(library):
    records = run_suite(library[:3], [load_adapter("cuda")])
    assert {r["status"] for r in records} == {"skipped"}
    assert all("no CUDA device" in r["message"] for r in records)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_passes_every_applicable_case(library):
    records = run_suite(library, [load_adapter("cuda")])
    bad = [f"{r['case']} [{r['dtype']}]: {r['message']}" for r in records if r["status"] in ("fail", "error")]
    assert not bad, "\n".join(bad)


def test_numpy_implementation_does_not_import_the_reference():
    folder = Path(__file__).resolve().parents[2] / "implementations"
    for name in ("numpy_lstm.py", "numpy_lstm_forward.py", "numpy_lstm_training.py"):
        imports = [line for line in (folder / name).read_text().splitlines()
                   if line.lstrip().startswith(("import ", "from "))]
        assert imports and not [line for line in imports if "reference" in line], name


def test_outputs_keep_the_input_dtype(library):
    case = next(c for c in library if c.id == "random/t5b3i4h7/bias/given-state")
    for impl in ("numpy", "torch-cell", "torch-lstm"):
        for dtype in ("float32", "float64"):
            record = run_suite([case], [load_adapter(impl)], [dtype])[0]
            assert set(record["output_dtypes"].values()) == {dtype}, (impl, record["output_dtypes"])
