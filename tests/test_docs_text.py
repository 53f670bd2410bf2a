"""The repository carries its own text: references to the textbook material point at
docs/TEXTBOOK.md (which exists, with the cited sections), never at a file we do not ship,
and shipped files do not refer to our internal planning ("the issue", "issue 6")."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXTBOOK = ROOT / "docs" / "TEXTBOOK.md"
MISSING_FILE = "SEEDS" + ".md"  # spelt in two parts so this file does not mention it
SHIPPED = ("spec/", "reference/", "implementations/", "conformance/", "docs/", "examples/", "README.md")
INTERNAL_PLANNING = re.compile(r"\bthe issue\b|\bissue \d+\b", re.I)  # "issue #123" (upstream) is fine

# Mentions in files whose owners have yet to reword them: (path, text). Remove an entry with
# its mention; an entry whose text is gone fails below, so this list cannot go stale.


def repository_files() -> list[str]:
    """Tracked and untracked files, without what .gitignore ignores (.venv, build, caches),
    and without this file, which has to spell out what it looks for."""
    try:
        listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    this = Path(__file__).resolve().relative_to(ROOT).as_posix()
    return [p for p in listed.splitlines() if p != this and (ROOT / p).is_file()]


def text_of(path: str) -> str:
    try:
        return (ROOT / path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ""  # binary files cite nothing


def mentions(pattern: re.Pattern, paths) -> set[tuple[str, str]]:
    """(path, matched text, lower-cased) of every match."""
    return {(p, m.group(0).lower()) for p in paths for m in pattern.finditer(text_of(p))}


def test_no_file_refers_to_the_missing_textbook_file():
    found = mentions(re.compile(re.escape(MISSING_FILE) + r"|SEEDS §", re.I), repository_files())
    assert not found, "refer to docs/TEXTBOOK.md instead:\n" + "\n".join(sorted(map(str, found)))


def textbook_sections() -> set[int]:
    return {int(n) for n in re.findall(r"^## (\d+)\. ", TEXTBOOK.read_text(), re.M)}


def cited_sections(text: str) -> list[int]:
    """Section numbers cited as "TEXTBOOK.md §2", "TEXTBOOK.md §2, §4" or "TEXTBOOK.md §2 naive / §5"."""
    cited = []
    for refs in re.findall(r"TEXTBOOK\.md((?:[^§\n):;]{0,12}§\d+)+)", text):
        cited += [int(n) for n in re.findall(r"§(\d+)", refs)]
    return cited


def test_textbook_has_its_sections_in_order():
    assert sorted(textbook_sections()) == list(range(1, 6))


def test_every_textbook_reference_names_a_section_that_exists():
    sections, bad, count = textbook_sections(), [], 0
    for path in repository_files():
        text = text_of(path)
        assert not re.search(r"TEXTBOOK §", text), f"{path}: write TEXTBOOK.md §N"
        for n in cited_sections(text):
            count += 1
            if n not in sections:
                bad.append(f"{path}: TEXTBOOK.md §{n}")
    assert not bad, "\n".join(bad)
    assert count >= 15  # the references are found at all


def test_shipped_files_do_not_refer_to_internal_planning():
    shipped = [p for p in repository_files() if p.startswith(SHIPPED)]
    found = mentions(INTERNAL_PLANNING, shipped)
    assert not found, "state the fact instead:\n" + "\n".join(sorted(map(str, found)))
