"""The README's two commands are what CI and newcomers run: keep them honest."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = next(c for c in readme_commands() if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_readme_installs_with_the_constraints_file_that_pins_torch_only():
    commands = readme_commands()[:2]
    assert all("-c constraints.txt" in c for c in commands)
    assert "lstm-conformance report --out" in commands[0]
    pins = [line.split("#")[0].strip() for line in (ROOT / "constraints.txt").read_text().splitlines()]
    # torch pins its own triton on Linux: a second pin of triton here made the install unresolvable
    assert [p for p in pins if p] == ["torch==2.13.0"]


def test_readme_adapter_example_is_about_thirty_lines():
    block = re.search(r"```python\n# my_adapter.py\n(.+?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    assert 25 <= len(block.strip().splitlines()) <= 45
