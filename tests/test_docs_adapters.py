"""docs/ADAPTERS.md names only what exists, and everything there is: its tables of problem
fields, configuration fields, parameter names and features are read and compared with the
real Problem and LSTMConfig dataclasses, parameter_shapes and Capabilities' FEATURES."""
import re
from dataclasses import fields
from pathlib import Path

from lstm_conformance.adapter import FEATURES
from lstm_conformance.spec.model import LSTMConfig, Problem, parameter_shapes

DOC = Path(__file__).resolve().parents[1] / "docs" / "ADAPTERS.md"


def first_column(prefix: str) -> list[str]:
    """Names in the first column of the doc's table rows that start with `prefix`, e.g.
    "| `problem.x` |" gives "x" and "| `config.activation(role)` |" gives "activation"."""
    rows = re.findall(rf"^\| `{re.escape(prefix)}(\w+)", DOC.read_text(), re.M)
    assert rows, f"no table rows for {prefix!r} in {DOC}"
    return rows


def public_members(cls) -> set[str]:
    """Dataclass fields plus public properties and methods."""
    return {f.name for f in fields(cls)} | {n for n in vars(cls) if not n.startswith("_")}


def test_every_documented_problem_field_exists_and_every_field_is_documented():
    documented = set(first_column("problem."))
    assert documented <= public_members(Problem), documented - public_members(Problem)
    assert {f.name for f in fields(Problem)} <= documented


def test_every_documented_config_field_exists_and_every_field_is_documented():
    documented = set(first_column("config."))
    members = public_members(LSTMConfig) - {"with_options"}  # a constructor helper, not a field to read
    assert documented <= members, documented - members
    assert members <= documented, members - documented


def test_documented_parameter_names_are_the_canonical_ones():
    # every option that adds parameters, two layers and two directions
    config = LSTMConfig(3, 4, num_layers=2, bidirectional=True, proj_size=2, peepholes=True, layer_norm=True)
    real = {re.sub(r"_l\d+(_reverse)?$", "", name) for name in parameter_shapes(config)}
    documented = {name for name in re.findall(r"^\| `(\w+)_l\{k\}`", DOC.read_text(), re.M)}
    assert documented == real


def test_documented_features_are_capabilities_features():
    table = DOC.read_text().split("| feature | a problem uses it when |")[1].split("\n\n")[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert sorted(documented) == sorted(FEATURES), set(documented) ^ set(FEATURES)
