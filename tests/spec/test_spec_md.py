"""SPEC.md and spec/README.md stay in step with the code: every option, activation,
parameter, output and tolerance the code knows is written down, every option and activation
is exercised by a case away from its default, and the README's example is a valid file."""
import re
from dataclasses import fields
from importlib import resources

import pytest

from lstm_conformance.reference import activations
from lstm_conformance.spec import schema
from lstm_conformance.spec.loader import load_text
from lstm_conformance.spec.model import (ACTIVATION_ROLES, CONFIG_OPTION_NAMES, OUTPUTS, STANDARD_ACTIVATIONS,
                                         LSTMConfig, parameter_shapes)
from lstm_conformance.tolerances import TOLERANCES

FRAMEWORKS = ("PyTorch", "ONNX", "Keras", "TF1", "Flax", "cuDNN", "oneDNN", "WebNN")
DEFAULTS = {f.name: f.default for f in fields(LSTMConfig) if f.name in CONFIG_OPTION_NAMES}


def read(name: str) -> str:
    """A document shipped with the spec package (so a wheel install has it too)."""
    return (resources.files("lstm_conformance.spec") / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def spec_md() -> str:
    return read("SPEC.md")


def section(text: str, title_start: str) -> str:
    """The body of the `## ` section whose title starts with `title_start`."""
    match = re.search(rf"^## [0-9. ]*{re.escape(title_start)}.*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"SPEC.md has no section '{title_start}'"
    return match.group(1)


def code_words(text: str) -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", text))


def valid_configs(library):
    return [c.config for c in library if c.expect_error is None]


# ----------------------------------------------------------------------------- options

@pytest.mark.parametrize("option", CONFIG_OPTION_NAMES)
def test_option_is_specified_with_its_default(option, spec_md):
    table = section(spec_md, "Options and their defaults")
    row = next((line for line in table.splitlines() if line.startswith(f"| `{option}` |")), None)
    assert row, f"SPEC.md §Options has no row for `{option}`"
    if option != "activations":
        default = DEFAULTS[option]
        shown = {None: "null", True: "true", False: "false"}.get(default, str(default)) \
            if not isinstance(default, (int, float)) or isinstance(default, bool) else f"{default}"
        assert shown in row.split("|")[3], f"`{option}`: default {shown} not in {row}"


@pytest.mark.parametrize("option", CONFIG_OPTION_NAMES)
def test_option_is_used_away_from_its_default_by_some_case(option, library):
    default = DEFAULTS[option]
    users = [cfg for cfg in valid_configs(library) if getattr(cfg, option) != default]
    assert users, f"no valid spec case sets {option} to a non-default value"


# ----------------------------------------------------------------------------- activations

@pytest.mark.parametrize("name", activations.NAMES)
def test_activation_is_specified(name, spec_md):
    table = section(spec_md, "Activations")
    assert any(line.startswith(f"| `{name}` |") for line in table.splitlines()), f"SPEC.md §Activations lacks `{name}`"


@pytest.mark.parametrize("name", activations.NAMES)
def test_activation_is_used_in_a_role_where_it_is_not_the_default(name, library):
    users = [cfg for cfg in valid_configs(library)
             if any(cfg.activation(role).name == name and STANDARD_ACTIVATIONS[role].name != name
                    for role in ACTIVATION_ROLES)]
    assert users, f"no valid spec case uses activation {name} away from its default role"


def test_alpha_beta_defaults_in_spec_match_the_reference(spec_md):
    table = section(spec_md, "Activations")
    for name, (alpha, beta) in activations.DEFAULTS.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
        cells = [cell.strip() for cell in row.split("|")[1:-1]]
        assert cells[2] == (f"{alpha}" if alpha is not None else "–"), (name, cells)
        assert cells[3] == (f"{beta}" if beta is not None else "–"), (name, cells)


def test_activation_roles_are_named(spec_md):
    words = code_words(section(spec_md, "Activations"))
    assert set(ACTIVATION_ROLES) <= words


# ----------------------------------------------------------------------------- shapes, outputs, tolerances

def test_every_parameter_name_and_output_is_in_the_shapes_section(spec_md):
    everything = LSTMConfig(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, proj_size=2,
                            peepholes=True)
    generic = {re.sub(r"_l\d+(_reverse)?$", "_l{k}", name) for name in parameter_shapes(everything)}
    words = code_words(section(spec_md, "Shapes"))
    assert generic <= words, f"missing from SPEC.md §Shapes: {sorted(generic - words)}"
    first_cells = [line.split("|")[1] for line in section(spec_md, "Shapes").splitlines() if line.startswith("| ")]
    named = {word for cell in first_cells for word in re.split(r"[ ,()]+", cell.strip())}
    assert set(OUTPUTS) | {"x", "h0", "c0", "lengths"} <= named, f"rows missing: {set(OUTPUTS) - named}"


def test_tolerance_table_matches_tolerances_py(spec_md):
    """The policy text shows the values conformance/tolerances.py defines; a change of one
    without the other fails here."""
    table = section(spec_md, "Tolerance policy")
    for dtype, tol in TOLERANCES.items():
        row = next((line for line in table.splitlines() if line.startswith(f"| {dtype} |")), None)
        assert row, f"SPEC.md §Tolerance policy has no row for {dtype}"
        atol, rtol = (float(cell) for cell in row.split("|")[2:4])
        assert (atol, rtol) == (tol.atol, tol.rtol), (dtype, row)


def test_gate_order_table_cites_a_source_for_every_framework(spec_md):
    text = section(spec_md, "Gate order in other conventions")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| convention")]
    sources = dict(re.findall(r"^\* \[(\d+)\] .*?<(https?://[^>]+)>", text, re.M))
    for framework in FRAMEWORKS:
        row = next((r for r in rows if r.startswith(f"| {framework}")), None)
        assert row, f"no gate-order row for {framework}"
        refs = re.findall(r"\[(\d+)\]", row)
        assert refs and all(ref in sources for ref in refs), f"{framework}: source {refs} not listed with a URL"
    canonical = next(r for r in rows if r.startswith("| PyTorch"))
    assert "i, f, g, o" in canonical
    assert "i, o, f, c" in next(r for r in rows if r.startswith("| ONNX"))
    assert "i, j, f, o" in next(r for r in rows if r.startswith("| TF1"))


def test_error_conditions_name_existing_expect_error_cases(spec_md, library):
    named = set(re.findall(r"`(err-[a-z0-9-]+)`", section(spec_md, "Error conditions")))
    bases = {c.id.split("/")[0] for c in library if c.expect_error is not None}
    assert named, "SPEC.md §Error conditions names no case"
    assert named <= bases, f"named but not in the library: {sorted(named - bases)}"
    assert bases <= named, f"in the library but not named in SPEC.md: {sorted(bases - named)}"


# ----------------------------------------------------------------------------- the README of the format

@pytest.fixture(scope="module")
def readme() -> str:
    return read("README.md")


def test_readme_documents_every_schema_key(readme):
    keys = set(schema.FILE["properties"]) | set(schema.CASE["properties"]) | set(schema.SHAPE["properties"])
    keys |= set(schema.OPTIONS["properties"]) | set(schema.EXPECTATION["properties"])
    keys |= set(schema.CASE["properties"]["inputs"]["properties"])
    keys |= set(schema.DATA["oneOf"][1]["properties"]) | set(schema.DATA["oneOf"][0]["enum"])
    documented = code_words(readme)
    assert keys <= documented, f"keys of spec/schema.py missing from spec/README.md: {sorted(keys - documented)}"


def test_readme_example_is_a_valid_file_with_the_variants_it_announces(readme):
    example = re.search(r"```yaml\n(.*?)```", readme, re.S).group(1)
    cases = load_text(example, "README example")
    announced = re.search(r"This file holds \d+ cases: (.*?), each run", readme, re.S).group(1)
    ids = re.findall(r"`([^`]+)`", announced)
    assert [c.id for c in cases] == ids
    assert any(c.expect_error for c in cases) and any(c.expect for c in cases)


def test_readme_shows_the_validate_command(readme):
    assert "lstm-conformance validate" in readme
