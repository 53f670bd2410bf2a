"""Find adapters: a built-in name, `path/to/file.py:Class`, `module:Class`, or an entry point
of the group `lstm_conformance.adapters`."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path

from .adapter import Adapter
from .implementations import BUILTIN

ENTRY_POINT_GROUP = "lstm_conformance.adapters"


class AdapterLoadError(ValueError):
    """The --impl argument names no loadable adapter; the message says what was tried."""


def available_names() -> list[str]:
    return list(BUILTIN) + sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN)


def _instantiate(obj, spec: str) -> Adapter:
    try:
        adapter = obj() if isinstance(obj, type) else obj
    except Exception as err:
        raise AdapterLoadError(f"--impl {spec}: creating {obj.__name__}() failed: {type(err).__name__}: {err}") from err
    missing = [m for m in ("name", "capabilities", "prepare") if not hasattr(adapter, m)]
    if missing:
        raise AdapterLoadError(f"--impl {spec}: {obj!r} is not an adapter (missing {', '.join(missing)})")
    if not hasattr(adapter, "to_numpy"):  # duck-typed adapters get the default conversions
        adapter.to_numpy = Adapter.to_numpy.__get__(adapter)
    for method in ("skip_reason", "unsupported_reason"):
        if not hasattr(adapter, method):
            setattr(adapter, method, getattr(Adapter, method).__get__(adapter))
    return adapter


def _load_from_file(path: str, attr: str, spec: str):
    file = Path(path)
    if not file.is_file():
        raise AdapterLoadError(f"--impl {spec}: no such file {path}")
    module_name = f"_lstm_conformance_user_{abs(hash(str(file.resolve())))}"
    loader_spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as err:  # the user's file failed to import: say so, with the cause
        raise AdapterLoadError(f"--impl {spec}: importing {path} failed: {type(err).__name__}: {err}") from err
    if not hasattr(module, attr):
        raise AdapterLoadError(f"--impl {spec}: {path} defines no {attr!r}")
    return getattr(module, attr)


def _load_from_module(module_name: str, attr: str, spec: str):
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise AdapterLoadError(f"--impl {spec}: cannot import module {module_name!r}: {err}") from err
    if not hasattr(module, attr):
        raise AdapterLoadError(f"--impl {spec}: module {module_name!r} defines no {attr!r}")
    return getattr(module, attr)


def load_adapter(spec: str) -> Adapter:
    """The adapter named by `spec` (see the module docstring for the accepted forms)."""
    if spec in BUILTIN:
        module_name, attr = BUILTIN[spec].split(":")
        return _instantiate(_load_from_module(module_name, attr, spec), spec)
    if ":" in spec:
        where, attr = spec.rsplit(":", 1)
        if where.endswith(".py") or "/" in where or "\\" in where:
            return _instantiate(_load_from_file(where, attr, spec), spec)
        return _instantiate(_load_from_module(where, attr, spec), spec)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == spec:
            return _instantiate(ep.load(), spec)
    raise AdapterLoadError(
        f"--impl {spec}: unknown implementation; expected one of {', '.join(available_names())}, "
        "or path/to/file.py:Class, or module:Class")
