"""docs/CI.md: the example workflow is valid YAML, and every lstm-conformance command in it (and
its expectations example) is accepted by the current command line, so the doc cannot rot."""
import re
import shlex
from pathlib import Path

import yaml

from lstm_conformance.cli import _parser
from lstm_conformance.harness.expectations import parse

DOC = Path(__file__).resolve().parents[2] / "docs" / "CI.md"


def blocks(language):
    return re.findall(rf"```{language}\n(.+?)```", DOC.read_text(encoding="utf-8"), re.S)


def workflow():
    return yaml.safe_load(next(b for b in blocks("yaml") if "jobs:" in b))


def test_the_workflow_installs_runs_compares_and_uploads():
    steps = workflow()["jobs"]["conformance"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "pip install" in runs and "lstm-conformance report" in runs and "lstm-conformance compare" in runs
    upload = next(step for step in steps if "upload-artifact" in step.get("uses", ""))
    assert upload["if"] == "${{ !cancelled() }}"  # the report is uploaded also when the gate fails


def test_every_command_of_the_workflow_parses():
    steps = workflow()["jobs"]["conformance"]["steps"]
    commands = [step["run"] for step in steps if "lstm-conformance" in step.get("run", "")]
    commands = [c for c in commands if "lstm-conformance report" in c or "lstm-conformance compare" in c]
    assert len(commands) == 2
    for command in commands:
        words = shlex.split(command.replace('"$REPORT', '"reports/ci'))
        args = _parser().parse_args(words[words.index("lstm-conformance") + 1:])
        assert args.command in ("report", "compare")


def test_the_expectations_example_is_a_valid_file():
    example = next(b for b in blocks("yaml") if b.startswith("# ci/expectations"))
    expectations = parse(yaml.safe_load(example), "example")
    assert expectations.adapter == "my-lstm" and len(expectations.entries) == 2
