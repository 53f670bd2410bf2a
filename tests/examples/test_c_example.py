"""examples/c: a plain C99 LSTM graded through export -> C -> grade, with no Python in the loop
between export and grade. Built with the system C compiler; skipped, saying why, without one."""
import shutil
import subprocess
from pathlib import Path

import pytest

from fixtures.golden import export_golden

from lstm_conformance.cli import main
from lstm_conformance.report import results

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "c"
# cases the C example runs (one layer, sigmoid/tanh, biases or not, states, lengths,
# batch_first) and some it declares unsupported (layers, identity activations, projection)
PATTERNS = ["toy", "states", "lengths-*", "batch-first", "single-bias", "multi-layer-projection"]


def compiler():
    return shutil.which("cc") or shutil.which("gcc")


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    return export_golden(tmp_path_factory.mktemp("golden"), PATTERNS)


def build(tmp_path, *flags):
    if compiler() is None:
        pytest.skip("no C compiler (cc or gcc) on this machine: the C example cannot be built")
    exe = tmp_path / ("lstm" + "".join(flags).replace("-D", "-"))
    subprocess.run([compiler(), "-std=c99", "-O2", "-Wall", "-Werror", *flags, "-o", str(exe),
                    str(EXAMPLE / "lstm.c"), str(EXAMPLE / "npy.c"), "-lm"], check=True, capture_output=True)
    return exe


def run_c(exe, golden, outputs):
    outputs.mkdir()
    done = subprocess.run([str(exe), str(golden), str(outputs)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def records(folder):
    return results.read(folder / "results.json")["records"]  # with the stored-apart reasons put back


def test_the_c_example_passes_every_case_it_runs(tmp_path, golden, capsys):
    exe = build(tmp_path)
    print(run_c(exe, golden, tmp_path / "outputs"))
    assert main(["grade", str(golden), str(tmp_path / "outputs"), "--out", str(tmp_path / "report")]) == 0
    graded = records(tmp_path / "report")
    forward = [r for r in graded if r["check"] == "forward"]
    assert {r["impl"] for r in graded} == {"c-example"}  # its name, from outputs/implementation.txt
    assert not [r for r in graded if r["status"] in ("fail", "error")]
    passed = {r["case"] for r in forward if r["status"] == "pass"}
    assert {"toy-memory-tanh", "initial-state-distinct", "batch-first"} <= passed and len(passed) >= 10
    unsupported = {r["case"]: r["message"] for r in forward if r["status"] == "unsupported"}
    assert "supports only num_layers 1, not 2" in unsupported["multi-layer-projection"]
    assert "supports only activation_cell tanh, not identity" in unsupported["toy-memory-linear"]
    # what grade cannot judge from files is listed as not run, with why
    determinism = [r for r in graded if r["check"] == "determinism"]
    assert determinism and all(r["status"] == "skipped" and "live implementation" in r["message"]
                               for r in determinism)


def test_a_broken_c_build_fails_with_a_located_message(tmp_path, golden, capsys):
    exe = build(tmp_path, "-DBROKEN_FORGET_GATE")
    run_c(exe, golden, tmp_path / "outputs")
    assert main(["grade", str(golden), str(tmp_path / "outputs"), "-k", "initial-state-distinct"]) == 1
    out = capsys.readouterr().out
    assert "c-example-broken-forget-gate" in out
    assert "initial-state-distinct [float" in out and "y[t=" in out and "expected" in out
