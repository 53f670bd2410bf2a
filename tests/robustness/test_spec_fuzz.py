"""Property-based fuzzing of the spec loader and `validate`: random text, random YAML
documents, and library files mutated structurally and character by character. Every input
must give either a clean SpecError (naming the file) or cases that materialize; never any
other exception. A few hundred examples in the default run, thousands under -m slow."""
import copy
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_conformance.cli import main
from lstm_conformance.spec.loader import SpecError, builtin_case_files, load_text
from lstm_conformance.spec.materialize import materialize
from lstm_conformance.spec.model import input_shape, parameter_shapes

LIBRARY = {path.name: yaml.safe_load(path.read_text(encoding="utf-8")) for path in builtin_case_files()}
LIBRARY_TEXT = {path.name: path.read_text(encoding="utf-8") for path in builtin_case_files()}
FILE = "fuzzed.yaml"
MAX_ELEMENTS = 200_000  # materialize accepted cases up to this size (larger ones are valid, just slow)

# Values YAML can carry, with the awkward ones over-represented.
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 5), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "zeros", "ones", "none", "float32", "bfloat16", "tanh", "identity", "hard_sigmoid",
                     "weight_ih_l0", "bias_*", "x", "h0", "id", "1e400", "-", "*"]),
    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=8), scalars.filter(
        lambda v: isinstance(v, (str, int, bool)) or v is None)), inner, max_size=4)), max_leaves=12)
keys = st.sampled_from(["id", "about", "group", "tags", "shape", "options", "dtypes", "seed", "inputs", "parameters",
                        "expect", "expect_error", "matrix", "seq_len", "batch", "input_size", "hidden_size",
                        "num_layers", "bidirectional", "proj_size", "batch_first", "unbatched", "peepholes",
                        "cell_clip", "activations", "gate", "cell", "hidden", "literal", "fill", "uniform", "normal",
                        "block_scale", "lengths", "output", "values", "round", "atol", "unknown_key"])


def paths_of(node, prefix=()):
    """Every path (tuple of keys / indices) into a nested document."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths_of(v, prefix + (i,))


def get(node, path):
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_documents(draw):
    """A library file with one to four structural mutations: a value replaced, a key deleted
    or added, a list item duplicated."""
    document = copy.deepcopy(LIBRARY[draw(st.sampled_from(sorted(LIBRARY)))])
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in paths_of(document) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = get(document, path[:-1]), path[-1]
        action = draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
        if action == "replace":
            parent[last] = draw(values)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(keys)] = draw(values)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return document


@st.composite
def mutated_texts(draw):
    """A library file's text with characters deleted, inserted or replaced."""
    text = LIBRARY_TEXT[draw(st.sampled_from(sorted(LIBRARY_TEXT)))]
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        piece = draw(st.sampled_from([":", "-", " ", "\n", "{", "[", "]", "}", "'", '"', "*", "&a", "!!int", "0",
                                      "1e9", "-1", ".nan", "#", "\t", "\x00", "ü", "99999999999999999999",
                                      "!!int ", "!!float ", "!!bool ", "!!timestamp ", "&x ", "*x"]))
        if action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif action == "insert":
            text = text[:at] + piece + text[at:]
        else:
            text = text[:at] + piece + text[at + len(piece):]
    return text


def elements(case) -> int:
    """How many numbers materializing the case makes (to skip the huge ones)."""
    config = case.config
    T, B = case.shape["seq_len"], case.shape["batch"]
    sizes = [math.prod(input_shape(config, T, B))] + [math.prod(s) for s in parameter_shapes(config).values()]
    return sum(sizes)


def check_loads_cleanly(text: str) -> None:
    try:
        cases = load_text(text, FILE)
    except SpecError as err:
        assert FILE in str(err) and str(err).strip()
        return
    for case in cases:  # accepted: it must be a case the suite can really build
        if case.expect_error is None and elements(case) <= MAX_ELEMENTS:
            for dtype in case.dtypes:
                materialize(case, dtype)


def as_yaml(document) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


documents = st.one_of(mutated_documents(), st.dictionaries(keys, values, max_size=5).map(lambda d: {"cases": [d]}),
                      values.map(lambda v: {"cases": v}), values)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(documents)
def test_random_and_mutated_documents_load_or_fail_cleanly(document):
    check_loads_cleanly(as_yaml(document))


@FAST
@given(mutated_texts())
def test_mutated_library_text_loads_or_fails_cleanly(text):
    check_loads_cleanly(text)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_loads_or_fails_cleanly(text):
    check_loads_cleanly(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(documents.map(as_yaml), mutated_texts()))
def test_validate_answers_every_file_with_ok_or_invalid(tmp_path, capsys, text):
    path = Path(tmp_path) / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    out = capsys.readouterr().out
    assert (code, out.split()[0]) in ((0, "OK"), (1, "INVALID")), out
    assert str(path) in out


SHAPE = "shape: {seq_len: 2, batch: 1, input_size: 1, hidden_size: 1}"


@pytest.mark.parametrize("extra, key", [
    # what the fuzzing found: each was accepted, then failed with a traceback when run
    ("shape: {seq_len: 2.0, batch: 1, input_size: 1, hidden_size: 1}", "shape.seq_len"),
    (SHAPE + "\n    seed: 3.0", "seed"),
    (SHAPE + "\n    options: {num_layers: 2.0}", "options.num_layers"),
    (SHAPE + "\n    inputs: {lengths: [1.0]}", "inputs.lengths[0]"),
    (SHAPE + "\n    inputs: {x: {literal: [[[5-0]], [[1]]]}}", "inputs.x.literal"),
    (SHAPE + "\n    inputs: {x: {literal: [[[{a: 1}]], [[1]]]}}", "inputs.x.literal"),
    (SHAPE + "\n    inputs: {x: {literal: [[[true]], [[1]]]}}", "inputs.x.literal"),
    (SHAPE + "\n    expect: [{output: y, values: [a, 1]}]", "expect[0].values"),
])
def test_inputs_the_fuzzing_found_are_clean_errors(extra, key):
    with pytest.raises(SpecError) as info:
        load_text(f"cases:\n  - id: a\n    about: x\n    {extra}\n", FILE)
    assert f"key '{key}'" in str(info.value)


@pytest.mark.parametrize("text, words", [
    ("cases: [{id: !!int false}]", "not valid YAML: ValueError"),         # PyYAML's own ValueError
    ("cases: [{id: !!timestamp x}]", "not valid YAML: AttributeError"),
    ("cases: [{id: !!int }]", "not valid YAML: IndexError"),
    ("cases: &x [*x]", "refers to a node that contains it"),               # would recurse forever
    ("cases: " + "[" * 3000 + "]" * 3000, "not valid YAML: RecursionError"),
    ("cases: " + "[" * 80 + "]" * 80, "nested deeper than"),
])
def test_yaml_the_fuzzing_found_is_a_clean_error(text, words):
    with pytest.raises(SpecError, match=words):
        load_text(text, FILE)


@pytest.mark.slow
@SLOW
@given(documents)
def test_many_random_and_mutated_documents(document):
    check_loads_cleanly(as_yaml(document))


@pytest.mark.slow
@SLOW
@given(mutated_texts())
def test_many_mutated_library_texts(text):
    check_loads_cleanly(text)
