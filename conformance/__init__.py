"""lstm-conformance: a conformance test suite and reference-spec harness for LSTM implementations.

The public Python API, `from lstm_conformance import Adapter, Capabilities, load_cases, run`,
is resolved on first use (PEP 562): this package is also the parent of spec, reference and
implementations, so importing it imports nothing.
"""
__version__ = "0.1.0"

# public name -> (submodule, attribute)
_PUBLIC = {
    "Adapter": ("adapter", "Adapter"),
    "Capabilities": ("adapter", "Capabilities"),
    "load_cases": ("spec.loader", "load_cases"),
    "run": ("api", "run"),
}

__all__ = ["Adapter", "Capabilities", "load_cases", "run", "__version__"]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attribute = _PUBLIC[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value  # resolved once
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
