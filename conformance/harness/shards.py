"""Runs split across machines: `run --shard K/N` runs a deterministic part of the cases, and
`merge` makes one results document from the shards' results.json files.

A case belongs to shard K of N by a hash of its id, not by its position in the library, so a
shard's content does not change when a case is added elsewhere.
"""
from __future__ import annotations

import argparse
import zlib
from pathlib import Path

from ..report import results

# Settings that may differ between the shards of one run.
PER_SHARD_SETTINGS = ("shard", "interrupted", "stopped_early")
# Environment fields that must agree: the same code judged every shard.
SAME_CODE = ("lstm_conformance", "git_revision")


def parse_shard(text: str) -> tuple[int, int]:
    """'2/4' -> (2, 4); an argparse type."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 1/4, got {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"expected 1 ≤ K ≤ N in K/N, got {text!r}")
    return k, n


def in_shard(case_id: str, shard: tuple[int, int]) -> bool:
    k, n = shard
    return zlib.crc32(case_id.encode("utf-8")) % n == k - 1


def select_shard(cases: list, shard) -> list:
    return cases if shard is None else [c for c in cases if in_shard(c.id, shard)]


class MergeError(ValueError):
    """Shards that cannot be merged; the message names the files and what differs."""


def _record_key(record: dict) -> tuple:
    return record.get("case"), record.get("dtype"), record.get("impl"), results.check_of(record)


def merge(documents: list[dict], names: list[str]) -> dict:
    """One document from the shards' documents (read with results.read)."""
    if not documents:
        raise MergeError("no results files to merge")
    first, first_name = documents[0], names[0]
    base_settings = {k: v for k, v in first.get("settings", {}).items() if k not in PER_SHARD_SETTINGS}
    seen: dict = {}
    records, speed, coverage, cases, shards = [], [], {}, {}, []
    for document, name in zip(documents, names):
        settings = {k: v for k, v in document.get("settings", {}).items() if k not in PER_SHARD_SETTINGS}
        if settings != base_settings:
            differ = sorted(k for k in set(settings) | set(base_settings) if settings.get(k) != base_settings.get(k))
            raise MergeError(f"{name} and {first_name} were run with different settings ({', '.join(differ)})")
        for key in SAME_CODE:
            if document.get("environment", {}).get(key) != first.get("environment", {}).get(key):
                raise MergeError(f"{name} and {first_name} come from different versions of lstm-conformance "
                                 f"({key}: {document['environment'].get(key)!r} vs "
                                 f"{first['environment'].get(key)!r})")
        shard = document.get("settings", {}).get("shard")
        if shard is not None:
            if shard in shards:
                raise MergeError(f"{name}: shard {shard} is given twice")
            shards.append(shard)
        for record in document.get("records", []):
            key = _record_key(record)
            if key in seen:
                raise MergeError(f"{name}: the result {' '.join(map(str, key))} is also in {seen[key]}")
            seen[key] = name
            records.append(record)
        speed += document.get("speed", [])
        cases.update(document.get("cases", {}))
        for part in ("columns", "notes"):
            if document.get("coverage", {}).get(part):
                coverage.setdefault(part, document["coverage"][part])
        coverage.setdefault("rows", {}).update(document.get("coverage", {}).get("rows", {}))
    settings = dict(base_settings, merged_shards=sorted(shards),
                    interrupted=any(d.get("settings", {}).get("interrupted") for d in documents))
    merged = results.build(records, first.get("environment", {}), speed, settings)
    merged.update(checks=first.get("checks"), coverage=coverage, cases=cases)
    return merged


def read_shards(paths: list[Path]) -> list[dict]:
    documents = []
    for path in paths:
        try:
            documents.append(results.read(path))
        except (OSError, ValueError) as err:
            raise MergeError(f"{path}: {err}") from None
    return documents
