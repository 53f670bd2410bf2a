"""Reference results cached by content: the hash of everything the result depends on (the
configuration, every input array, the upstream gradient, and the reference's own source), so
that a second run recomputes nothing and a changed case or reference never reuses a stale
result.

Two levels: a dict in memory (shared by the adapters and checks of one run) and, unless
disabled, one file per result in a folder (LSTM_CONFORMANCE_CACHE, default
~/.cache/lstm-conformance/reference; set it to "off" to disable), shared between runs.

A result's file (ARRAYS_SUFFIX) is a header line, a JSON list of [name, dtype, shape] and the
arrays' bytes in that order. It replaced .npz files (a zip of .npy files), which took 0.15 ms to
write and 0.28 ms to read for a forward result against about 0.07 and 0.02 ms: a run reads or writes
thousands of them. Like np.load without allow_pickle, it holds numbers only, never a pickle.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..reference import lstm_backward, lstm_forward
from ..spec.model import Problem

CACHE_ENV = "LSTM_CONFORMANCE_CACHE"
ARRAYS_SUFFIX = ".arrays"
ARRAYS_MAGIC = b"lstm-conformance reference arrays v1\n"


@lru_cache(maxsize=1)
def reference_fingerprint() -> str:
    """Hash of the reference's source files: editing the reference invalidates the cache."""
    folder = Path(lstm_forward.__code__.co_filename).parent
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _update(digest, name: str, value) -> None:
    digest.update(name.encode())
    if value is None:
        digest.update(b"<none>")
        return
    array = np.ascontiguousarray(value)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.data)  # the bytes of tobytes(), without the copy (the array is C-contiguous)


def content_key(problem: Problem, purpose: str, extra: Optional[dict] = None) -> str:
    """sha256 of the problem's content (not its id: derived problems share ids) and `extra`."""
    digest = hashlib.sha256(f"{reference_fingerprint()}|{purpose}|{problem.config!r}".encode())
    for name in ("x", "h0", "c0", "lengths"):
        _update(digest, name, getattr(problem, name))
    for name in sorted(problem.params):
        _update(digest, name, problem.params[name])
    for name in sorted(extra or {}):
        _update(digest, f"extra:{name}", extra[name])
    return digest.hexdigest()


def default_folder() -> Optional[Path]:
    setting = os.environ.get(CACHE_ENV)
    if setting is not None:
        return None if setting.strip().lower() in ("", "off", "0", "none") else Path(setting)
    return Path.home() / ".cache" / "lstm-conformance" / "reference"


class ReferenceCache:
    """Reference outputs and gradients, computed at most once per content."""

    def __init__(self, folder: Optional[Path] = None, use_disk: bool = True):
        self._store: dict = {}
        self.folder = (folder or default_folder()) if use_disk else None
        self.computed = 0  # how many results this cache had to compute (the rest were found)
        self._steps_key, self._steps = None, None  # see _forward_steps

    def get(self, problem: Problem) -> dict:
        """Forward outputs: y, h_n, c_n, c."""
        return self._cached(content_key(problem, "forward"), lambda: lstm_forward(
            problem.config, problem.x, problem.params, problem.h0, problem.c0, problem.lengths).as_dict())

    def gradients(self, problem: Problem, which: str, upstream: dict) -> dict:
        """Reference gradients for upstream[which] alone (which: y, h_n or c_n)."""
        return self._cached(content_key(problem, f"grad-{which}", {"upstream": upstream[which]}), lambda: lstm_backward(
            problem.config, problem.x, problem.params, problem.h0, problem.c0, problem.lengths,
            **{f"grad_{which}": upstream[which]}, forward=self._forward_steps(problem)))

    def _forward_steps(self, problem: Problem):
        """lstm_forward with its Step records, for the backward passes of one problem (the
        gradients check asks for y's, h_n's and c_n's in a row): the latest one is kept, in
        memory only, under the problem's content key."""
        key = content_key(problem, "forward-steps")
        if self._steps_key != key:
            self._steps_key, self._steps = None, None  # a forward pass that raises keeps nothing
            self._steps = lstm_forward(problem.config, problem.x, problem.params, problem.h0, problem.c0,
                                       problem.lengths, keep_steps=True)
            self._steps_key = key
        return self._steps

    def _cached(self, key: str, compute: Callable[[], dict]) -> dict:
        if key in self._store:
            return self._store[key]
        result = self._load(key)
        if result is None:
            result = compute()
            self.computed += 1
            self._save(key, result)
        self._store[key] = result
        return result

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{ARRAYS_SUFFIX}"

    def _load(self, key: str) -> Optional[dict]:
        if self.folder is None:
            return None
        try:
            return read_arrays(self._path(key))
        except (OSError, ValueError, TypeError, KeyError):  # absent, or a damaged file: compute anew
            return None

    def _save(self, key: str, result: dict) -> None:
        if self.folder is None:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    write_arrays(handle, result)
                os.replace(tmp, path)  # atomic: a reader never sees half a file
            except BaseException:
                os.unlink(tmp)
                raise
        except (OSError, ValueError):
            pass  # a read-only or full disk, or a result that is not numbers, only costs the speed-up


def write_arrays(handle, arrays: dict) -> None:
    """The cache file of a result (module docstring): numeric arrays only (ValueError otherwise)."""
    contiguous = {name: np.asarray(value, order="C") for name, value in arrays.items()}
    if any(array.dtype.hasobject for array in contiguous.values()):
        raise ValueError("only numeric arrays are cached")
    header = [[name, array.dtype.str, list(array.shape)] for name, array in contiguous.items()]
    handle.write(ARRAYS_MAGIC + json.dumps(header).encode() + b"\n")
    for array in contiguous.values():
        handle.write(array.data)


def read_arrays(path: Path) -> dict:
    """A result written by write_arrays, as writable arrays; ValueError for a file that is not
    one whole such file (another format, truncated, or with bytes left over)."""
    with open(path, "rb") as handle:
        if handle.readline() != ARRAYS_MAGIC:
            raise ValueError(f"{path}: not a reference cache file")
        arrays = {}
        for name, dtype, shape in json.loads(handle.readline()):
            dtype = np.dtype(dtype)
            if dtype.hasobject:
                raise ValueError(f"{path}: {name} is not numeric")
            array = np.empty(shape, dtype=dtype)
            if handle.readinto(array.reshape(-1).view(np.uint8)) != array.nbytes:
                raise ValueError(f"{path}: truncated at {name}")
            arrays[name] = array
        if handle.read(1):
            raise ValueError(f"{path}: bytes after the last array")
    return arrays
