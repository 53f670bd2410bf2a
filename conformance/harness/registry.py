"""Find adapters: a built-in name, `path/to/file.py:Class`, `module:Class`, or an entry point
of the group `lstm_conformance.adapters`.

As pytest does for test files, an adapter file's folder goes on the import path before the file
is imported (so it can import the modules beside it), and so does the working directory for
`module:Class`. An adapter is checked once, when it is loaded: a `capabilities()` that raises
or returns something other than `Capabilities` is a load error (a usage error, exit 2), not an
error repeated for every case."""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

from ..adapter import Adapter, Capabilities, with_defaults
from ..implementations import BUILTIN

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
    with_defaults(adapter)  # a duck-typed adapter gets the defaults of the optional methods
    _check_capabilities(adapter, spec)
    return adapter


def _check_capabilities(adapter, spec: str) -> None:
    """Call capabilities() once now, so that a mistake in it is reported once, at load."""
    label = f"{type(adapter).__name__}.capabilities()"
    try:
        capabilities = adapter.capabilities()
    except Exception as err:  # e.g. an unknown feature name: Capabilities raises ValueError
        raise AdapterLoadError(f"--impl {spec}: {label} raised {type(err).__name__}: {err}") from err
    if not isinstance(capabilities, Capabilities):
        raise AdapterLoadError(f"--impl {spec}: {label} returned {type(capabilities).__name__}; expected a "
                               "lstm_conformance.adapter.Capabilities")


def _on_import_path(folder: Path, first: bool) -> None:
    """Put `folder` on sys.path (once), so that modules in it can be imported: first, for an
    adapter file's folder (its neighbours win, as in pytest); last, for the working directory
    (it must not shadow installed packages)."""
    entry = str(folder.resolve())
    if entry in sys.path:
        return
    if first:
        sys.path.insert(0, entry)
    else:
        sys.path.append(entry)


def _load_from_file(path: str, attr: str, spec: str):
    file = Path(path)
    if not file.is_file():
        raise AdapterLoadError(f"--impl {spec}: no such file {path}")
    _on_import_path(file.parent, first=True)  # the adapter file may import its neighbours
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
        _on_import_path(Path(os.getcwd()), first=False)  # `adapter:Class` run from the adapter's folder
        return _instantiate(_load_from_module(where, attr, spec), spec)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == spec:
            return _instantiate(ep.load(), spec)
    raise AdapterLoadError(
        f"--impl {spec}: unknown implementation; expected one of {', '.join(available_names())}, "
        "or path/to/file.py:Class, or module:Class")
