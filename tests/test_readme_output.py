"""The README's "What you get" shows what the commands really print: each block there that
starts with `$ lstm-conformance ...` is run from the repository root and its output compared
line by line (only timings may differ)."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMING = re.compile(r"\d+(\.\d+)?\s*(s|ms|µs|ns)\b")


def shown_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## What you get", 1)[1].split("\n## ", 1)[0]
    for block in re.findall(r"```\n(\$ lstm-conformance .+?)```", section, re.S):
        command, *output = block.rstrip("\n").split("\n")
        yield command[2:], output


@pytest.mark.parametrize("command, shown", list(shown_runs()), ids=lambda v: v if isinstance(v, str) else "")
def test_readme_shows_what_the_command_prints(command, shown):
    argv = shlex.split(command)[1:]
    done = subprocess.run([sys.executable, "-c", "import sys; from lstm_conformance.cli import main; sys.exit(main())",
                           *argv], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CI": "1"})
    assert done.returncode in (0, 1), done.stderr
    printed = done.stdout.rstrip("\n").split("\n")
    assert [TIMING.sub("<time>", line) for line in printed] == [TIMING.sub("<time>", line) for line in shown]
    assert done.stderr == ""


def test_the_toy_run_prints_at_most_15_lines():
    command, shown = next(shown_runs())
    assert command == "lstm-conformance run --impl torch-lstm -k toy" and len(shown) <= 15
