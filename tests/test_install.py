"""Every `pip install` in the README resolves against the public package index alone.

pip runs with --isolated (this machine's pip configuration, local wheel folders and extra
indexes are ignored) and --dry-run --ignore-installed (nothing is installed, nothing already
installed counts). The commands run concurrently: each resolution takes tens of seconds.
"""
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_INDEX = "https://pypi.org/simple"


def readme_pip_installs() -> list[list[str]]:
    """The arguments of each `pip install` in the README's shell blocks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```(?:bash|sh|shell|console)?\n(.*?)```", text, re.S):
        for part in re.split(r"&&|\n", block):
            part = part.strip().lstrip("$ ").strip()
            if re.match(r"(python3? -m )?pip install ", part):
                found.append(shlex.split(part.split("pip install", 1)[1]))
    return found


def test_the_readme_installs_are_found():
    installs = readme_pip_installs()
    assert len(installs) >= 2, "the README's two commands each install the project"
    assert any(args[-1] == "." for args in installs)
    assert any('.[test]' in args[-1] for args in installs)


def _index_reachable() -> bool:
    try:
        with urllib.request.urlopen(f"{PUBLIC_INDEX}/pip/", timeout=15) as response:
            return response.status == 200
    except OSError:
        return False


def test_every_readme_install_resolves_against_the_public_index(tmp_path):
    if not _index_reachable():
        pytest.skip(f"the public index ({PUBLIC_INDEX}) is unreachable from this machine")
    runs = []
    for args in readme_pip_installs():
        command = [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed",
                   "--index-url", PUBLIC_INDEX, "--disable-pip-version-check", "-q", *args]
        runs.append((args, subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            text=True)))
    failures = []
    for args, process in runs:
        output, _ = process.communicate(timeout=900)
        if process.returncode != 0:
            lines = [l for l in output.splitlines() if "ERROR" in l or "conflict" in l or "depends" in l]
            failures.append(f"pip install {shlex.join(args)}:\n  " + "\n  ".join(lines[:8] or output.splitlines()[-8:]))
    assert not failures, "README install commands that do not resolve on the public index:\n" + "\n".join(failures)
