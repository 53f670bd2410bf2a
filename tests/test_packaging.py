"""Every sub-package is installed, and nothing generic lands in site-packages."""
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"conformance": "lstm_conformance", "spec": "lstm_conformance.spec",
           "reference": "lstm_conformance.reference", "implementations": "lstm_conformance.implementations"}


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for folder, package in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package,) + parts))
    assert found == listed
    assert all(name.startswith("lstm_conformance") for name in config["package-dir"])


def test_case_files_are_package_data():
    from importlib import resources
    cases = resources.files("lstm_conformance.spec") / "cases"
    assert any(str(p).endswith("toy.yaml") for p in cases.iterdir())
