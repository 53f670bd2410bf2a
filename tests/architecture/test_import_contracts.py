"""Dependencies run one way (DESIGN.md): the rules below read the real import graph of the
installed package (tests/architecture/import_graph.py), lazy imports included."""
import ast
from functools import lru_cache

import pytest

from import_graph import ROOT, build, module_files



@lru_cache(maxsize=1)
def graph():
    """The import graph, built when the first test needs it (not at collection, which every
    pytest-xdist worker pays)."""
    return build()

PACKAGE = "lstm_conformance"
TORCH_FAMILY = {"torch", "triton", "onnx", "onnxruntime"}
HARNESS_FREE = ("spec", "reference", "implementations")  # the sibling packages of the harness


def part(module: str) -> str:
    """The part a module belongs to: spec, reference, implementations, the adapter contract
    (lstm_conformance.adapter, which adapters import), or the harness (everything else)."""
    pieces = module.split(".")
    if module == f"{PACKAGE}.adapter":
        return "contract"
    return pieces[1] if len(pieces) > 1 and pieces[1] in HARNESS_FREE else "harness"


def modules_of(name: str) -> list[str]:
    return [m for m in graph().imports if part(m) == name]


def offenders(modules, forbidden) -> dict:
    found = {}
    for module in modules:
        bad = {t for t in graph().imports[module] if forbidden(t)}
        if bad:
            found[module] = sorted(bad)
    return found


def test_the_graph_is_the_whole_package():
    assert len(graph().imports) > 60
    assert {"lstm_conformance.spec.model", "lstm_conformance.reference.forward",
            "lstm_conformance.implementations.numpy_lstm", "lstm_conformance.harness.runner"} <= set(graph().imports)
    # the reader sees lazy imports: the cuda adapter imports torch only inside functions
    assert "torch" in graph().external("lstm_conformance.implementations.torch_lstm")


def test_no_file_cycles():
    assert graph().cycles() == []


def test_no_cycles_between_spec_reference_contract_implementations_and_harness():
    assert graph().cycles(part) == []


SUBPACKAGES = ("harness", "report", "bench", "checks", "mutants", "spec", "reference", "implementations")


def subpackage(module: str) -> str:
    """harness, report, bench, checks, mutants, spec, reference, implementations, or the
    module itself for the root's modules (adapter, cli, diagnosis, ...)."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[1] in SUBPACKAGES else module


def test_no_cycles_between_the_subpackages():
    assert graph().cycles(subpackage) == []


def test_spec_imports_only_itself():
    assert offenders(modules_of("spec"), lambda t: t.startswith(PACKAGE) and part(t) != "spec"
                     or t.split(".")[0] in TORCH_FAMILY) == {}


def test_reference_imports_no_torch_no_implementation_no_harness():
    assert offenders(modules_of("reference"), lambda t: t.startswith(PACKAGE) and part(t) not in ("spec", "reference")
                     or t.split(".")[0] in TORCH_FAMILY) == {}


def test_the_numpy_implementation_never_imports_the_reference():
    numpy_modules = [m for m in graph().imports if m.startswith(f"{PACKAGE}.implementations.numpy_lstm")]
    assert len(numpy_modules) >= 2
    assert offenders(numpy_modules, lambda t: t.startswith(f"{PACKAGE}.reference")
                     or t.split(".")[0] in TORCH_FAMILY) == {}


def test_implementations_import_only_the_contract_the_spec_the_reference_layouts_and_each_other():
    allowed = (f"{PACKAGE}.adapter", f"{PACKAGE}.spec", f"{PACKAGE}.implementations",
               f"{PACKAGE}.reference.layouts")  # converters to an implementation's own layout
    assert offenders(modules_of("implementations"),
                     lambda t: t.startswith(PACKAGE) and not t.startswith(allowed) and t != PACKAGE) == {}


def test_the_adapter_contract_depends_only_on_the_spec():
    assert offenders([f"{PACKAGE}.adapter"], lambda t: t.startswith(PACKAGE) and part(t) != "spec") == {}


RENDERERS = ("report.tables", "report.html", "report.junit", "report.compare", "report.plots", "report.coverage",
             "report.summary", "report.results", "report.model")


# Known breaches, to be removed as they are fixed (the test fails when one is fixed but still
# listed, and when a new one appears). None now: plots reads the forward records' per-step profiles.
KNOWN_BREACHES: dict = {}


@pytest.mark.parametrize("renderer", RENDERERS)
def test_renderers_read_results_not_adapters_or_the_reference(renderer):
    module = f"{PACKAGE}.{renderer}"
    if module not in graph().imports:
        pytest.skip(f"{module} does not exist")
    forbidden = (f"{PACKAGE}.reference", f"{PACKAGE}.implementations", f"{PACKAGE}.checks", f"{PACKAGE}.runner",
                 f"{PACKAGE}.registry", f"{PACKAGE}.isolation", f"{PACKAGE}.bench")
    allowed = (f"{PACKAGE}.bench.shapes",)  # parsing shape descriptors is reading the document's vocabulary
    found = offenders([module], lambda t: (t.startswith(forbidden) and not t.startswith(allowed))
                      or t.split(".")[0] in TORCH_FAMILY)
    assert found.get(module, []) == KNOWN_BREACHES.get(renderer, [])


def test_the_package_root_imports_nothing_at_import_time():
    """conformance/__init__.py is also the parent of spec, reference and implementations:
    importing lstm_conformance.reference must not load the harness. Imports inside functions
    (a PEP 562 __getattr__) are allowed."""
    tree = ast.parse(module_files()[PACKAGE].read_text())
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                 and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")]
    assert top_level == []
