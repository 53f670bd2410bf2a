"""results.json: the source of every table. Schema-versioned, deterministic order, atomic writes."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

SCHEMA_VERSION = 1


def atomic_write_text(path, text: str) -> None:
    """Write via a temporary file in the same folder and rename it, so that a reader never
    sees a half-written file and an interrupted run leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; reports are for others to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    """The mode the file would have if opened normally: its current one, else 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _clean(value):
    """JSON has no Inf/NaN: write them as strings so the file stays standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def sort_key(record: dict):
    return (record.get("group", ""), record.get("case", ""), record.get("dtype", ""), record.get("impl", ""),
            record.get("check", ""))


def build(records: list[dict], environment: dict, speed: list[dict] | None = None, settings: dict | None = None) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "settings": settings or {},
        "environment": environment,
        "records": sorted(records, key=sort_key),
        "speed": sorted(speed or [], key=lambda s: (s.get("shape", ""), s.get("mode", ""), s.get("impl", ""))),
    }


def write(path, document: dict) -> None:
    atomic_write_text(path, json.dumps(_clean(document), indent=1, sort_keys=False) + "\n")


def read(path) -> dict:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"{path}: results schema_version {version!r}, this tool reads {SCHEMA_VERSION}")
    return document


class Journal:
    """Records appended to a JSON Lines file as they complete, so that a crash of the process
    (even a segfault) leaves every record up to it. Before each unit (case × dtype ×
    implementation), a line {"running": {"case": ..., "dtype": ..., "impl": ...}} says what is
    being run; a run that ends (even stopped early) writes {"finished": true} last, so a file
    without it ended in a crash, in the unit of its last "running" line. Every other line is a record."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8")

    def _write(self, item: dict) -> None:
        self._file.write(json.dumps(_clean(item)) + "\n")
        self._file.flush()  # in the kernel's hands now: a crash of this process cannot lose it

    def running(self, case: str, dtype: str, impl: str) -> None:
        self._write({"running": {"case": case, "dtype": dtype, "impl": impl}})

    def record(self, record: dict) -> None:
        self._write(record)

    def finish(self) -> None:
        self._write({"finished": True})

    def close(self) -> None:
        self._file.close()


def read_journal(path) -> tuple[list[dict], dict | None]:
    """(records, the case running when the journal ended or None): what a crashed run left."""
    records, running = [], None
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except ValueError:  # a line cut by the crash
            continue
        if "running" in item:
            running = item["running"]
        elif "finished" in item:
            running = None
        else:
            records.append(item)
    return records, running
