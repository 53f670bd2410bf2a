"""An adapter file can import its neighbours, and adapter mistakes are reported once, clearly."""
import subprocess
import sys
import textwrap

import pytest

from lstm_conformance.cli import main
from lstm_conformance.harness.registry import AdapterLoadError, load_adapter
from lstm_conformance.harness.runner import run_suite
from lstm_conformance.spec.loader import builtin_case_files, select

# A correct adapter split over two files: the adapter imports the LSTM from the module beside it.
NEIGHBOUR = """
    from lstm_conformance.implementations.numpy_lstm import NumpyAdapter as CorrectLSTM
"""
ADAPTER = """
    from lstm_conformance.adapter import Capabilities
    from my_neighbour_lstm import CorrectLSTM


    class MyAdapter(CorrectLSTM):
        name = "mine"

        def capabilities(self):
            return Capabilities(dtypes={"float64"}, features={FEATURES})
"""


def write_adapter(folder, features='"bias", "initial_state"'):
    folder.mkdir(exist_ok=True)
    (folder / "my_neighbour_lstm.py").write_text(textwrap.dedent(NEIGHBOUR))
    (folder / "my_adapter.py").write_text(textwrap.dedent(ADAPTER).replace("FEATURES", features))
    return folder / "my_adapter.py"


@pytest.fixture
def clean_imports(monkeypatch):
    """sys.path and the neighbour module as they were: each test imports it afresh."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "my_neighbour_lstm", raising=False)
    monkeypatch.delitem(sys.modules, "my_adapter", raising=False)
    yield
    sys.modules.pop("my_neighbour_lstm", None)
    sys.modules.pop("my_adapter", None)


def test_an_adapter_file_imports_the_module_beside_it(tmp_path, monkeypatch, clean_imports, library):
    path = write_adapter(tmp_path / "elsewhere")
    monkeypatch.chdir(tmp_path)  # not the adapter's folder
    adapter = load_adapter(f"{path}:MyAdapter")
    records = run_suite(select(library, ["toy-memory-tanh"]), [adapter], ["float64"], checks=["forward"])
    assert [r["status"] for r in records] == ["pass"]


def test_module_and_class_from_the_working_directory(tmp_path, monkeypatch, clean_imports):
    write_adapter(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert load_adapter("my_adapter:MyAdapter").name == "mine"
    # the working directory goes last: it must not shadow installed packages
    assert sys.path[-1] == str(tmp_path.resolve())


@pytest.mark.parametrize("route", [["lstm-conformance", "run", "--impl"], ["pytest", "--lstm-impl"]])
def test_both_command_lines_import_the_neighbour(tmp_path, route):
    path = write_adapter(tmp_path / "adapters")
    (tmp_path / "cwd").mkdir()
    # the library's toy file only: loading all of it would cost each process 0.15 s of CPU
    toy = next(p for p in builtin_case_files() if p.name == "toy.yaml")
    if route[0] == "pytest":
        # without the installed plugins this run has no use for (Hypothesis, xdist, pytest-benchmark:
        # 0.15 s of CPU); the suite's own plugin loads by its entry point, as for a user
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p",
                   "no:xdist", "-p", "no:benchmark", route[1], f"{path}:MyAdapter",
                   "--lstm-cases", str(toy), "-k", "toy-memory-tanh", "-q"]
    else:
        command = [sys.executable, "-m", "lstm_conformance.cli", "run", "--impl", f"{path}:MyAdapter",
                   "--cases", str(toy), "-k", "toy-memory-tanh", "--check", "forward"]
    done = subprocess.run(command, cwd=tmp_path / "cwd", capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ModuleNotFoundError" not in done.stdout + done.stderr
    assert ("1 passed" if route[0] == "pytest" else "mine: 1 pass") in done.stdout, done.stdout  # the case ran


def test_an_unknown_feature_is_one_usage_error_at_load(tmp_path, capsys, clean_imports):
    path = write_adapter(tmp_path, features='"bias", "initial_states"')
    with pytest.raises(AdapterLoadError, match=r"MyAdapter.capabilities\(\) raised ValueError: unknown features "
                                               r"\['initial_states'\]"):
        load_adapter(f"{path}:MyAdapter")
    assert main(["run", "--impl", f"{path}:MyAdapter", "-k", "toy"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "initial_states" in err[0] and "my_adapter.py:MyAdapter" in err[0]


def test_capabilities_that_raise_or_return_the_wrong_thing(tmp_path, clean_imports):
    path = tmp_path / "odd.py"
    path.write_text(textwrap.dedent("""
        from lstm_conformance.adapter import Adapter

        class Raises(Adapter):
            name = "raises"
            def capabilities(self):
                raise RuntimeError("no device handle")

        class ReturnsDict(Adapter):
            name = "dict"
            def capabilities(self):
                return {"dtypes": ["float32"]}
    """))
    with pytest.raises(AdapterLoadError, match="Raises.capabilities\\(\\) raised RuntimeError: no device handle"):
        load_adapter(f"{path}:Raises")
    with pytest.raises(AdapterLoadError, match="returned dict; expected a lstm_conformance.adapter.Capabilities"):
        load_adapter(f"{path}:ReturnsDict")


def test_prepare_returning_no_callable_names_the_contract(tmp_path, clean_imports, library):
    path = tmp_path / "eager.py"
    path.write_text(textwrap.dedent("""
        from lstm_conformance.implementations.numpy_lstm import NumpyAdapter

        class Eager(NumpyAdapter):
            name = "eager"
            def prepare(self, problem):
                return super().prepare(problem)()  # the outputs, not a callable

        class Lazy(NumpyAdapter):
            name = "lazy"
            def prepare(self, problem):
                return None  # neither validates nor returns a callable
    """))
    cases = select(library, ["toy-memory-tanh"])
    records = run_suite(cases, [load_adapter(f"{path}:Eager")], ["float64"], checks=["forward"])
    assert [r["status"] for r in records] == ["error"]
    assert "Eager.prepare(problem) returned dict, not a callable; the adapter contract" in records[0]["message"]
    # in the errors check, breaking the contract is not "rejecting the invalid input"
    records = run_suite(cases, [load_adapter(f"{path}:Lazy")], ["float64"], checks=["errors"])
    assert [r["status"] for r in records] == ["error"]
    assert "Lazy.prepare(problem) returned NoneType, not a callable" in records[0]["message"]
