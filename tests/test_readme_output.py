"""The README's "What you get" shows what the commands really print: each block there that
starts with `$ lstm-conformance ...` is run (in this process) from the repository root and its output compared
line by line (only timings may differ)."""
import re
import shlex
import warnings
from pathlib import Path

import pytest

from lstm_conformance.cli import main

ROOT = Path(__file__).resolve().parents[1]
TIMING = re.compile(r"\d+(\.\d+)?\s*(s|ms|µs|ns)\b")


def shown_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## What you get", 1)[1].split("\n## ", 1)[0]
    for block in re.findall(r"```\n(\$ lstm-conformance .+?)```", section, re.S):
        command, *output = block.rstrip("\n").split("\n")
        yield command[2:], output


@pytest.mark.parametrize("command, shown", list(shown_runs()), ids=lambda v: v if isinstance(v, str) else "")
def test_readme_shows_what_the_command_prints(command, shown, capsys, monkeypatch):
    # In this process (what is compared is the printed text, not process behaviour), from the
    # repository root, with CI set as in the subprocess the README's reader starts.
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CI", "1")
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")  # a warning would reach the reader's terminal (stderr)
        code = main(shlex.split(command)[1:])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    printed = out.rstrip("\n").split("\n")
    assert [TIMING.sub("<time>", line) for line in printed] == [TIMING.sub("<time>", line) for line in shown]
    assert err == "" and [str(w.message) for w in warned] == []


def test_the_toy_run_prints_at_most_15_lines():
    command, shown = next(shown_runs())
    assert command == "lstm-conformance run --impl torch-lstm -k toy" and len(shown) <= 15
