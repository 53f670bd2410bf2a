"""Adapters are found by built-in name, file.py:Class and module:Class; errors are clear."""
from pathlib import Path

import pytest

from lstm_conformance.harness.registry import AdapterLoadError, available_names, load_adapter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters.py"
WITHOUT_TORCH = FIXTURES.with_name("adapters_without_torch.py")


def test_builtin_names():
    assert available_names()[:4] == ["numpy", "torch-cell", "torch-lstm", "cuda"]
    assert load_adapter("numpy").name == "numpy"


def test_file_and_module_forms():
    assert load_adapter(f"{WITHOUT_TORCH}:RaisingAdapter").name == "raises"
    assert load_adapter("lstm_conformance.implementations.torch_lstm:TorchLSTMAdapter").name == "torch-lstm"


@pytest.mark.parametrize("spec, words", [
    ("nonsense", "unknown implementation"),
    ("missing/file.py:X", "no such file"),
    (f"{FIXTURES}:Absent", "defines no 'Absent'"),
    ("no_such_module_xyz:Cls", "cannot import module"),
    ("lstm_conformance.tolerances:TOLERANCES", "is not an adapter"),
    ("lstm_conformance.tolerances:Tolerance", "creating Tolerance() failed"),
])
def test_errors_say_what_was_wrong(spec, words):
    with pytest.raises(AdapterLoadError) as info:
        load_adapter(spec)
    assert words in str(info.value) and spec.split(":")[0] in str(info.value)


def test_user_file_that_fails_to_import(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("import not_a_real_module_abc\n")
    with pytest.raises(AdapterLoadError, match="importing .*broken.py failed: ModuleNotFoundError"):
        load_adapter(f"{bad}:X")
