"""Property-based fuzzing of the spec loader and `validate`: random text, random YAML
documents, and library files mutated structurally (sizes multiplied up to 2^63, ranges
widened to ±1e308 or inf, types swapped, keys deleted or duplicated, lists truncated) and
character by character. Every input must give either a clean SpecError (naming the file) or
cases that materialize within the memory limit; never any other exception. About 550
examples in the default run, over 10,000 under -m slow."""
import copy
import functools
import inspect
import sys
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_conformance.cli import main
from lstm_conformance.spec.loader import SpecError, builtin_case_files, load_text
from lstm_conformance.spec.materialize import materialize

# libyaml's parser where PyYAML has it: the loader's own (pure-Python) parser is fuzzed through
# mutated_texts, arbitrary text and `validate`; a well-formed text gives both the same document.
C_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FILE = "fuzzed.yaml"
LIMIT = 16 * 2**20  # the memory limit the fuzzed files are loaded and materialized under


@functools.cache
def library_texts() -> dict:
    """The built-in library files' texts by name, read at the first draw (not at collection,
    which every pytest-xdist worker pays)."""
    return {path.name: path.read_text(encoding="utf-8") for path in builtin_case_files()}


@functools.cache
def library_documents() -> dict:
    """The built-in library files as parsed documents. Never mutate them: draw a deep copy."""
    return {name: yaml.load(text, Loader=C_SAFE_LOADER) for name, text in library_texts().items()}  # noqa: S506


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


def paths_of(node):
    """Every path (tuple of keys / indices) into a nested document, with the value there, in
    depth-first order from the root (a stack, not nested generators: literals are deep)."""
    stack = [((), node)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend(reversed([(path + (k,), v) for k, v in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(path + (i,), v) for i, v in enumerate(value)]))


def get(node, path):
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_documents(draw):
    """A library file with one to four structural mutations: a value replaced, a key deleted
    or added, a list item duplicated."""
    documents = library_documents()
    document = copy.deepcopy(documents[draw(st.sampled_from(sorted(documents)))])
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p, _value in paths_of(document) if p]
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


NUMBER_FACTORS = [0, -1, 2, 10, 1000, 2**31, 2**32 + 1, 2**63, 10**400, 1e308, 0.5]
WIDE = [-1e308, 1e308, float("inf"), float("-inf"), float("nan"), 10**400, -(10**400), 2**64, 2**63 - 1]


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _swap_type(value, draw):
    """The value as another YAML type: text, a list, a mapping, a float, a boolean, null."""
    return draw(st.sampled_from([str(value), [value], {"k": value}, True, None, 1.5, []]))


@st.composite
def structurally_mutated_documents(draw):
    """A library file with one to four of the mutations a careless user makes: a number
    multiplied (sizes by 2^31 ...), a number or a range widened (±1e308, inf, nan, 10^400),
    a value's type swapped, a key deleted or copied under another name, a list truncated or
    an item duplicated."""
    documents = library_documents()
    document = copy.deepcopy(documents[draw(st.sampled_from(sorted(documents)))])
    for _ in range(draw(st.integers(1, 4))):
        entries = [(p, value) for p, value in paths_of(document) if p]
        paths = [p for p, _value in entries]
        numbers = [p for p, value in entries if _is_number(value)]
        action = draw(st.sampled_from(["multiply", "widen", "widen-range", "swap-type", "delete", "copy-key",
                                       "truncate", "duplicate"]))
        if action in ("multiply", "widen") and numbers:
            path = draw(st.sampled_from(numbers))
            parent, last = get(document, path[:-1]), path[-1]
            if action == "multiply":
                try:
                    parent[last] = parent[last] * draw(st.sampled_from(NUMBER_FACTORS))
                except OverflowError:
                    parent[last] = float("inf")
            else:
                parent[last] = draw(st.sampled_from(WIDE))
            continue
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = get(document, path[:-1]), path[-1]
        value = parent[last]
        if action == "widen-range" and isinstance(value, list) and len(value) == 2:
            parent[last] = draw(st.sampled_from([[-1e308, 1e308], [float("-inf"), float("inf")], [0, float("nan")],
                                                 [1e308, -1e308], [-(10**400), 1], [0, -1]]))
        elif action == "swap-type":
            parent[last] = _swap_type(value, draw)
        elif action == "delete":
            del parent[last]
        elif action == "copy-key" and isinstance(parent, dict):
            parent[draw(keys)] = copy.deepcopy(value)
        elif action == "truncate" and isinstance(value, list):
            del value[draw(st.integers(0, len(value))):]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(value))
    return document


@st.composite
def mutated_texts(draw):
    """A library file's text with characters deleted, inserted or replaced."""
    texts = library_texts()
    text = texts[draw(st.sampled_from(sorted(texts)))]
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "duplicate-line"]))
        piece = draw(st.sampled_from([":", "-", " ", "\n", "{", "[", "]", "}", "'", '"', "*", "&a", "!!int", "0",
                                      "1e9", "-1", ".nan", "#", "\t", "\x00", "ü", "99999999999999999999",
                                      "!!int ", "!!float ", "!!bool ", "!!timestamp ", "&x ", "*x"]))
        if action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif action == "duplicate-line":  # a key given twice, a list item repeated
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            line = text[start:end if end >= 0 else len(text)]
            text = text[:start] + line + "\n" + text[start:]
        elif action == "insert":
            text = text[:at] + piece + text[at:]
        else:
            text = text[:at] + piece + text[at + len(piece):]
    return text


# (case as written, dtype) already materialized within LIMIT in this process. materialize is a
# function of these alone, so measuring one again would find the same; and most cases of a fuzzed
# file are the library's, unmutated: measured once here, not in every example (tracemalloc makes
# materialize about 6x slower).
_within_limit: set = set()


def materialize_within_limit(case, dtype) -> None:
    key = (repr(case), dtype)  # the dataclass's repr: every field, 1 and 1.0 and '1' told apart
    if key in _within_limit:
        return
    tracemalloc.start()
    try:
        materialize(case, dtype, max_memory=LIMIT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= LIMIT, (case.id, dtype, peak)
    _within_limit.add(key)


def check_loads_cleanly(text: str, loader=yaml.SafeLoader) -> None:
    """`loader`: the loader's own by default; C_SAFE_LOADER for text yaml.dump wrote."""
    try:
        cases = load_text(text, FILE, max_memory=LIMIT, _loader=loader)
    except SpecError as err:
        assert FILE in str(err) and str(err).strip()
        return
    for case in cases:  # accepted: it must be a case the suite can really build, within the limit
        for dtype in case.dtypes:
            materialize_within_limit(case, dtype)


def as_yaml(document) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's when present: the same text, faster
    return yaml.dump(document, Dumper=dumper, allow_unicode=True, sort_keys=False)


documents = st.one_of(mutated_documents(), structurally_mutated_documents(), st.dictionaries(keys, values, max_size=5).map(lambda d: {"cases": [d]}),
                      values.map(lambda v: {"cases": v}), values)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# The two document tests parse the dumped text with libyaml (the same document, several times
# faster): what they fuzz is the loader's checks of documents; the -m slow ones below parse it
# with the loader's own parser, as a user's file is.
@FAST
@given(documents)
def test_random_and_mutated_documents_load_or_fail_cleanly(document):
    check_loads_cleanly(as_yaml(document), loader=C_SAFE_LOADER)


@FAST
@given(structurally_mutated_documents())
def test_structurally_mutated_library_files_load_or_fail_cleanly(document):
    check_loads_cleanly(as_yaml(document), loader=C_SAFE_LOADER)


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
    # a matrix label or a parameter name that YAML reads as null or a number: a TypeError when
    # the variant id was joined, or when the name was matched
    (SHAPE + "\n    matrix: {size: {~: ~}}", "matrix.size"),
    (SHAPE + "\n    matrix: {size: {1: {}}}", "matrix.size"),
    (SHAPE + "\n    parameters: {1: zeros}", "parameters"),
    (SHAPE + "\n    matrix: {v: {a: {parameters: {~: zeros}}}}", "parameters"),
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
    # PyYAML's RecursionError, or our depth check where another test raised the recursion limit
    ("cases: " + "[" * 3000 + "]" * 3000, "not valid YAML: RecursionError|nested deeper than"),
    ("cases: " + "[" * 80 + "]" * 80, "nested deeper than"),
])
def test_yaml_the_fuzzing_found_is_a_clean_error(text, words):
    # PyYAML's scanner is quadratic in the nesting depth it reaches before the RecursionError:
    # a recursion limit 300 frames above this one makes that error come at about 150 levels
    # (0.1 s) instead of about 500 (2-4 s); the error and how the loader reports it are the same.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(min(limit, len(inspect.stack(0)) + 300))
    try:
        with pytest.raises(SpecError, match=words):
            load_text(text, FILE)
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.slow
@SLOW
@given(documents)
def test_many_random_and_mutated_documents(document):
    check_loads_cleanly(as_yaml(document))


@pytest.mark.slow
@SLOW
@given(structurally_mutated_documents())
def test_many_structurally_mutated_library_files(document):
    check_loads_cleanly(as_yaml(document))


@pytest.mark.slow
@SLOW
@given(mutated_texts())
def test_many_mutated_library_texts(text):
    check_loads_cleanly(text)
