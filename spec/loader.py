"""Load, validate and expand YAML spec case files.

Every error is a SpecError naming the file, the case id and the key path. Matrices are
expanded here: each variant is an ordinary case whose id is `case/label/label...`.
"""
from __future__ import annotations

import copy
import fnmatch
import functools
import itertools
import math
import pickle
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

import yaml

if TYPE_CHECKING:
    import jsonschema

from . import budget, schema
from .model import (ACTIVATION_NAMES, ACTIVATION_ROLES, CONFIG_OPTION_NAMES, STANDARD_ACTIVATIONS, Activation,
                    LSTMConfig, input_shape, parameter_shapes, state_shapes)

DEFAULT_DTYPES = ("float32", "float64")


class SpecError(ValueError):
    """A spec file or case is invalid. str() names file, case id and key path."""

    def __init__(self, file, case_id: Optional[str], key: str, message: str):
        self.file, self.case_id, self.key, self.message = str(file), case_id, key, message
        where = [self.file]
        if case_id:
            where.append(f"case {case_id!r}")
        if key:
            where.append(f"key {key!r}")
        super().__init__(f"{': '.join(where)}: {message}")


@dataclass
class CaseSpec:
    """One expanded spec case, as written (arrays are made by materialize.py)."""

    id: str
    about: str
    group: str
    file: str
    shape: dict
    options: dict = field(default_factory=dict)
    dtypes: tuple = DEFAULT_DTYPES
    seed: int = 0
    inputs: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    expect: list = field(default_factory=list)
    expect_error: Optional[str] = None
    tags: tuple = ()

    @property
    def config(self) -> LSTMConfig:
        return build_config(self.shape, self.options)


def build_config(shape: dict, options: dict) -> LSTMConfig:
    opts = {k: v for k, v in options.items() if k not in ("activations", "activations_reverse")}
    given = options.get("activations", {})
    acts = tuple(Activation.parse(given[r]) if r in given else STANDARD_ACTIVATIONS[r] for r in ACTIVATION_ROLES)
    if "activations_reverse" in options:  # a role left out is the forward direction's
        rev = options["activations_reverse"]
        opts["activations_reverse"] = tuple(Activation.parse(rev[r]) if r in rev else acts[k]
                                            for k, r in enumerate(ACTIVATION_ROLES))
    return LSTMConfig(input_size=shape["input_size"], hidden_size=shape["hidden_size"], activations=acts, **opts)


def _key_path(path: Iterable) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@functools.lru_cache(maxsize=None)
def _strict_validator():
    """The validator class of the schema checks. JSON Schema counts 2.0 as an integer; a shape,
    seed or length of 2.0 would then fail far from the file (numpy refuses float sizes), so only
    real integers are integers here. Made at the first check, not at import: a process that
    only unpickles cases (a -j or --isolate worker) then never imports jsonschema (~0.05 s)."""
    import jsonschema

    return jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
            "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)))


def _first_non_number(value):
    """The first leaf of a nested list that is not a number (booleans included), or None."""
    if isinstance(value, list):
        for item in value:
            bad = _first_non_number(item)
            if bad is not None:
                return bad
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (value,)  # a tuple, so that a bad leaf None is still reported
    return None


def _schema_check(instance: Any, schema_: dict, file, case_id, prefix: str = "") -> None:
    validator = _strict_validator()(schema_)
    errors = sorted(validator.iter_errors(instance), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        err = errors[0]
        # For oneOf failures the most useful message is usually the deepest one.
        from jsonschema.exceptions import best_match  # loaded with the validator

        best = best_match([err]) if err.context else err
        key = _key_path(list(filter(None, [prefix])) + list(best.absolute_path))
        raise SpecError(file, case_id, key, _describe(best))


def _describe(err: jsonschema.ValidationError) -> str:
    if err.validator == "additionalProperties":
        return f"unknown key: {err.message}"
    if err.validator == "type" and "propertyNames" in err.absolute_schema_path:  # YAML reads `~:` or `1:` as a non-text key
        return f"every key here must be text (a name), got {err.instance!r}"
    if err.validator == "oneOf" and err.schema is schema.DATA:
        return ("expected 'zeros', 'ones', 'none' or a mapping with literal, fill, uniform [lo, hi] or "
                f"normal [mean, std], got {err.instance!r}")
    return err.message


MAX_DEPTH = 64  # far deeper than any case needs; keeps every recursive walk of the document safe
# Values in one file, counting a node reached through n aliases n times: aliases of aliases
# ("billion laughs") would otherwise make every walk of the document exponentially long.
MAX_NODES = 1_000_000
MAX_CASES = 10_000  # cases one file may expand to (matrices multiply)


def _check_finite_structure(document, file) -> None:
    """No alias that contains itself (`&a [*a]`), no absurd nesting and no absurd size: each
    would make the schema check or the literal walks recurse or run without end."""
    stack = [(document, 0, frozenset())]
    visited = 0
    while stack:
        node, depth, ancestors = stack.pop()
        visited += 1
        if visited > MAX_NODES:
            raise SpecError(file, None, "", f"more than {MAX_NODES:,} values (aliases counted at each use)")
        if not isinstance(node, (dict, list)):
            continue
        if id(node) in ancestors:
            raise SpecError(file, None, "", "a YAML alias refers to a node that contains it (a cycle)")
        if depth > MAX_DEPTH:
            raise SpecError(file, None, "", f"nested deeper than {MAX_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1, ancestors | {id(node)}) for child in children)


def deep_merge(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def expand_matrix(raw_case: dict) -> list[tuple[str, dict]]:
    """[(variant id, merged case dict)] for the cartesian product of the matrix axes."""
    matrix = raw_case.get("matrix")
    base = {k: v for k, v in raw_case.items() if k != "matrix"}
    if not matrix:
        return [(raw_case["id"], base)]
    variants = []
    axes = list(matrix.values())
    for combo in itertools.product(*(list(axis.items()) for axis in axes)):
        merged = base
        for _label, overrides in combo:
            merged = deep_merge(merged, overrides or {})
        variant_id = "/".join([raw_case["id"]] + [label for label, _ in combo])
        variants.append((variant_id, dict(merged, id=variant_id)))
    return variants


def _variant_count(raw_case: dict) -> int:
    return math.prod(len(axis) for axis in (raw_case.get("matrix") or {}).values())


# The built-in library's files are parsed with libyaml's safe loader where PyYAML has it: the
# same documents (a test compares them) about 7x faster, and the library is loaded by every
# command. Any other text keeps the pure-Python safe loader, whose behaviour on malformed and
# hostile input (errors, deep nesting) the robustness tests pin down.
_BUILTIN_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_text(text: str, file="<string>", max_memory: Optional[int] = None,
              _loader=yaml.SafeLoader) -> list[CaseSpec]:
    """The cases of one file's text. A case whose estimated memory (spec/budget.py) exceeds
    `max_memory` bytes (default: budget.max_case_memory()) is a SpecError."""
    try:
        document = yaml.load(text, Loader=_loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(file, None, "", f"not valid YAML{where}: {getattr(err, 'problem', None) or err}") from None
    except Exception as err:  # noqa: BLE001 - PyYAML's constructors raise ValueError, KeyError,
        # IndexError, ... for explicit tags with bad values (`!!int false`), RecursionError on deep nesting
        raise SpecError(file, None, "", f"not valid YAML: {type(err).__name__}: {err}") from None
    if not isinstance(document, dict):
        raise SpecError(file, None, "", f"expected a mapping with a 'cases' list, got {type(document).__name__}")
    _check_finite_structure(document, file)
    _schema_check(document, schema.FILE, file, None)
    group = document.get("group") or Path(str(file)).stem
    cases, seen, expanded = [], set(), 0
    for index, raw in enumerate(document["cases"]):
        case_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        _schema_check(raw, schema.CASE, file, case_id, prefix=f"cases[{index}]" if case_id is None else "")
        expanded += _variant_count(raw)
        if expanded > MAX_CASES:  # counted before expanding: a matrix multiplies its axes
            raise SpecError(file, raw["id"], "matrix", f"the file expands to more than {MAX_CASES:,} cases")
        for variant_id, merged in expand_matrix(raw):
            if "matrix" in raw:  # without one, the variant is `raw` itself, checked just above
                _schema_check(dict(merged, id=raw["id"]), schema.CASE, file, variant_id)
            if variant_id in seen:
                raise SpecError(file, variant_id, "id", "duplicate case id")
            seen.add(variant_id)
            case = _to_case(merged, file, group)
            check_case(case, max_memory)
            cases.append(case)
    return cases


def _to_case(raw: dict, file, group: str) -> CaseSpec:
    if "shape" not in raw:
        raise SpecError(file, raw["id"], "shape", "missing: every case states seq_len, batch, input_size, hidden_size")
    return CaseSpec(
        id=raw["id"], about=raw["about"], group=raw.get("group", group), file=str(file),
        shape=raw["shape"], options=raw.get("options", {}), dtypes=tuple(raw.get("dtypes", DEFAULT_DTYPES)),
        seed=raw.get("seed", 0), inputs=raw.get("inputs", {}), parameters=raw.get("parameters", {}),
        expect=raw.get("expect", []), expect_error=raw.get("expect_error"), tags=tuple(raw.get("tags", ())),
    )


def check_direction(case: CaseSpec) -> None:
    """`bidirectional` (PyTorch's spelling) and `direction` given together must agree."""
    options = case.options
    if "bidirectional" in options and "direction" in options:
        if options["bidirectional"] != (options["direction"] == "bidirectional"):
            raise SpecError(case.file, case.id, "options.direction",
                            f"direction: {options['direction']} contradicts bidirectional: "
                            f"{str(options['bidirectional']).lower()} (give one of the two)")


def _literal_shape(value) -> tuple[int, ...]:
    """Shape of a nested list; raises ValueError when ragged."""
    if not isinstance(value, list):
        return ()
    shapes = {_literal_shape(v) for v in value}
    if len(shapes) > 1:
        raise ValueError("ragged nested list")
    return (len(value),) + (shapes.pop() if shapes else ())


def check_case(case: CaseSpec, max_memory: Optional[int] = None) -> None:
    """Semantic checks beyond the schema: value ranges, the memory estimate, names, shapes of
    literals, counts."""
    fail = lambda key, msg: SpecError(case.file, case.id, key, msg)  # noqa: E731
    check_direction(case)
    if "activations_reverse" in case.options and not (
            case.options.get("bidirectional") or case.options.get("direction") == "bidirectional"):
        raise fail("options.activations_reverse", "needs two directions (direction: bidirectional); a single "
                                                  "direction has its activations in `activations`")
    if "peephole_output_state" in case.options and not case.options.get("peepholes"):
        raise fail("options.peephole_output_state", "needs peepholes: true (without peepholes there is no "
                                                    "output-gate peephole)")
    for name in ("state_clip", "proj_clip"):
        if case.options.get(name) is not None and not _finite(case.options[name]):
            raise fail(f"options.{name}", f"must be a finite number, got {case.options[name]!r}")
    if case.options.get("proj_clip") is not None and not case.options.get("proj_size"):
        raise fail("options.proj_clip", "needs a projection (proj_size > 0): proj_clip bounds the projected "
                                        "output W_hr r (TF1 / TFLite)")
    if case.options.get("padding") == "carry" and "lengths" not in case.inputs and case.expect_error is None:
        raise fail("options.padding", "padding: carry needs inputs.lengths (without lengths there is no padding)")
    try:
        config = case.config
    except (TypeError, ValueError) as err:
        raise fail("options", str(err)) from None
    check_ranges(case)
    check_memory(case, max_memory)
    for key, direction in (("activations", 0), ("activations_reverse", 1)):
        for role in ACTIVATION_ROLES:
            act = config.activation(role, direction)
            if act.name not in ACTIVATION_NAMES:
                raise fail(f"options.{key}.{role}", f"unknown activation {act.name!r}; expected one of "
                                                     f"{', '.join(ACTIVATION_NAMES)}")
            if act.name == "scaled_tanh" and (act.alpha is None or act.beta is None):
                raise fail(f"options.{key}.{role}", "scaled_tanh needs both alpha and beta")
    unknown = set(case.options) - set(CONFIG_OPTION_NAMES)
    if unknown:
        raise fail("options", f"unknown options {sorted(unknown)}")

    T, B = case.shape["seq_len"], case.shape["batch"]
    expected = {"x": input_shape(config, T, B), **state_shapes(config, B)}
    pshapes = parameter_shapes(config)
    invalid_ok = case.expect_error is not None
    for name, spec in case.inputs.items():
        if name == "lengths":
            if len(spec) != B and not invalid_ok:
                raise fail("inputs.lengths", f"expected {B} lengths (one per batch row), got {len(spec)}")
            if not invalid_ok and any(not 1 <= n <= T for n in spec):
                raise fail("inputs.lengths", f"lengths must lie in 1..{T}, got {spec}")
            continue
        _check_data(case, f"inputs.{name}", spec, expected[name], invalid_ok)
    for pattern, spec in case.parameters.items():
        matched = [n for n in pshapes if fnmatch.fnmatchcase(n, pattern)]
        if not matched:
            raise fail(f"parameters.{pattern}", f"matches no parameter of this configuration; parameters are {', '.join(pshapes)}")
        for name in matched:
            _check_data(case, f"parameters.{pattern}", spec, pshapes[name], invalid_ok)
    if not invalid_ok and T < 1:
        raise fail("shape.seq_len", "must be at least 1 (T = 0 belongs in an expect_error case)")
    for k, exp in enumerate(case.expect):
        bad = _first_non_number(exp["values"])
        if bad is not None:
            raise fail(f"expect[{k}].values", f"holds {bad[0]!r}; expected numbers")
        if exp["output"] == "c_entering" and (config.num_layers > 1 or config.direction != "forward"):
            raise fail(f"expect[{k}].output", "c_entering is defined for one layer, one forward direction")
        if "round" in exp and "atol" in exp:
            raise fail(f"expect[{k}]", "give either round or atol, not both")


# ----------------------------------------------------------------------------- value ranges
# The schema admits every integer and every float (inf and nan included); these are the
# bounds past which NumPy or the reference would fail with an exception of their own.

MAX_SIZE = 2**31 - 1  # any one size or dimension; a larger one alone is 16 GiB of x
MAX_LAYERS = 1024  # the reference looks parameters up per layer: quadratic in the depth
MAX_SEED = 2**64 - 1
MAX_ROUND = 30  # decimals; float64 holds about 17 significant digits
MAX_NDIM = 32  # NumPy's limit on dimensions
INT64 = 2**63


def _is_float64(value) -> bool:
    """A number float64 can hold (inf and nan included; a huge integer is not)."""
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _finite(value) -> bool:
    return _is_float64(value) and math.isfinite(value)


def _first_bad_leaf(value, ok) -> Optional[str]:
    """Index path of the first leaf of a nested list for which ok() is false, as '[i][j]'."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            bad = _first_bad_leaf(item, ok)
            if bad is not None:
                return f"[{i}]{bad}"
        return None
    return None if ok(value) else ""


def check_ranges(case: CaseSpec) -> None:
    """Every value within the range NumPy and the reference can use (SpecError otherwise)."""
    fail = lambda key, msg: SpecError(case.file, case.id, key, msg)  # noqa: E731
    for name, value in case.shape.items():
        if value > MAX_SIZE:
            raise fail(f"shape.{name}", f"{value} is larger than {MAX_SIZE}")
    options = case.options
    if options.get("num_layers", 1) > MAX_LAYERS:
        raise fail("options.num_layers", f"{options['num_layers']} is more than {MAX_LAYERS} layers")
    if options.get("proj_size", 0) > MAX_SIZE:
        raise fail("options.proj_size", f"{options['proj_size']} is larger than {MAX_SIZE}")
    for name in ("cell_clip", "forget_bias"):
        if options.get(name) is not None and not _finite(options[name]):
            raise fail(f"options.{name}", f"must be a finite number, got {options[name]!r}")
    for key in ("activations", "activations_reverse"):
        for role, act in options.get(key, {}).items():
            for name in ("alpha", "beta"):
                if isinstance(act, dict) and name in act and not _finite(act[name]):
                    raise fail(f"options.{key}.{role}.{name}", f"must be a finite number, got {act[name]!r}")
    if case.seed > MAX_SEED:
        raise fail("seed", f"{case.seed} is larger than {MAX_SEED}")
    if case.expect_error is None:
        _check_reference_ranges(case, fail)
    for k, length in enumerate(case.inputs.get("lengths", [])):
        if not -INT64 <= length < INT64:
            raise fail(f"inputs.lengths[{k}]", f"{length} does not fit a 64-bit integer")
    for section in ("inputs", "parameters"):
        for name, spec in getattr(case, section).items():
            if isinstance(spec, dict):
                _check_data_ranges(spec, f"{section}.{name}", fail)
    for k, exp in enumerate(case.expect):
        bad = _first_bad_leaf(exp["values"], lambda v: not isinstance(v, (int, float)) or _is_float64(v))
        if bad is not None:
            raise fail(f"expect[{k}].values{bad}", "a number too large for float64")
        if exp.get("round", 0) > MAX_ROUND:
            raise fail(f"expect[{k}].round", f"at most {MAX_ROUND} decimals, got {exp['round']}")
        if "atol" in exp and not _finite(exp["atol"]):
            raise fail(f"expect[{k}].atol", f"must be a finite number, got {exp['atol']!r}")


def _check_reference_ranges(case: CaseSpec, fail) -> None:
    """What the reference rejects (reference/forward.py, validate_config), for cases that do
    not expect an error: such a case could never pass."""
    for name in ("input_size", "hidden_size"):
        if case.shape[name] < 1:
            raise fail(f"shape.{name}", f"must be at least 1 (0 belongs in an expect_error case), got {case.shape[name]}")
    proj = case.options.get("proj_size", 0)
    if proj and proj >= case.shape["hidden_size"]:
        raise fail("options.proj_size", f"{proj} must be smaller than hidden_size {case.shape['hidden_size']}")
    if case.options.get("batch_first") and case.options.get("unbatched"):
        raise fail("options", "batch_first and unbatched exclude each other")


def _check_data_ranges(spec: dict, key: str, fail) -> None:
    if "literal" in spec:
        bad = _first_bad_leaf(spec["literal"], lambda v: not isinstance(v, (int, float)) or _is_float64(v))
        if bad is not None:
            raise fail(f"{key}.literal{bad}", "a number too large for float64")
    if "fill" in spec and not _is_float64(spec["fill"]):
        raise fail(f"{key}.fill", "a number too large for float64")
    if "uniform" in spec:
        low, high = spec["uniform"]
        if not (_finite(low) and _finite(high)):
            raise fail(f"{key}.uniform", f"bounds must be finite numbers, got {spec['uniform']}")
        if low > high:
            raise fail(f"{key}.uniform", "low must not exceed high")
        if not math.isfinite(float(high) - float(low)):
            raise fail(f"{key}.uniform", f"high - low overflows float64, got {spec['uniform']}")
    if "normal" in spec:
        mean, std = spec["normal"]
        if not (_finite(mean) and _finite(std)) or std < 0:
            raise fail(f"{key}.normal", f"needs a finite mean and a finite std >= 0, got {spec['normal']}")
    if "block_scale" in spec and not all(_finite(v) for v in spec["block_scale"]):
        raise fail(f"{key}.block_scale", f"factors must be finite numbers, got {spec['block_scale']}")
    if "shape" in spec:
        if len(spec["shape"]) > MAX_NDIM:
            raise fail(f"{key}.shape", f"more than {MAX_NDIM} dimensions")
        if any(n > MAX_SIZE for n in spec["shape"]):
            raise fail(f"{key}.shape", f"a dimension larger than {MAX_SIZE}: {spec['shape']}")


def check_memory(case: CaseSpec, max_memory: Optional[int] = None) -> None:
    """Refuse a case whose estimated memory (spec/budget.py), in its most demanding dtype,
    exceeds the limit."""
    limit = budget.max_case_memory() if max_memory is None else max_memory
    needed, dtype = max((budget.case_estimate(case, d), d) for d in case.dtypes)
    if needed > limit:
        raise SpecError(case.file, case.id, "shape", budget.refusal(needed, limit, dtype))


def _check_data(case: CaseSpec, key: str, spec, shape: tuple, invalid_ok: bool) -> None:
    if not isinstance(spec, dict):
        if spec == "none" and not key.startswith("inputs.h") and not key.startswith("inputs.c"):
            raise SpecError(case.file, case.id, key, "'none' is only allowed for h0 and c0")
        return
    if "shape" in spec:
        if not invalid_ok:
            raise SpecError(case.file, case.id, f"{key}.shape", "a shape override is only allowed in expect_error cases")
        shape = tuple(spec["shape"])
    makers = [k for k in ("literal", "fill", "uniform", "normal") if k in spec]
    if len(makers) != 1:
        raise SpecError(case.file, case.id, key, f"give exactly one of literal, fill, uniform, normal; got {makers or 'none'}")
    if "literal" in spec:
        bad = _first_non_number(spec["literal"])
        if bad is not None:
            raise SpecError(case.file, case.id, f"{key}.literal", f"holds {bad[0]!r}; expected numbers")
        try:
            got = _literal_shape(spec["literal"])
        except ValueError:
            raise SpecError(case.file, case.id, f"{key}.literal", "ragged nested list") from None
        if got != tuple(shape):
            raise SpecError(case.file, case.id, f"{key}.literal", f"has shape {got}, expected {tuple(shape)}")
    if "block_scale" in spec and (not shape or shape[0] % 4):
        raise SpecError(case.file, case.id, f"{key}.block_scale", f"needs a (4H, ...) array, got shape {tuple(shape)}")


def builtin_case_files() -> list[Path]:
    """The library's case files: cases/*.yaml, then other suites' vectors in cases/external/."""
    folder = Path(str(resources.files("lstm_conformance.spec") / "cases"))
    return sorted(folder.glob("*.yaml")) + sorted((folder / "external").glob("*.yaml"))


def load_file(path, max_memory: Optional[int] = None, _loader=yaml.SafeLoader) -> list[CaseSpec]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(path, None, "", f"cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise SpecError(path, None, "", "not UTF-8 text") from None
    limit = budget.max_case_memory() if max_memory is None else max_memory
    return pickle.loads(_parsed_file(str(path), text, limit, _loader))  # a new copy for each caller


@functools.lru_cache(maxsize=64)
def _parsed_file(path: str, text: str, max_memory: int, loader) -> bytes:
    """The cases of one file's text, pickled, kept for the next load of the same text: every
    command, API call and pytest session loads the library, some several times in one process
    (the pytest plugin and the CLI each, a notebook calling api.run again). Keyed by the text
    itself, so an edited file is parsed again; an invalid one raises every time."""
    return pickle.dumps(load_text(text, Path(path), max_memory, loader), protocol=pickle.HIGHEST_PROTOCOL)


def load_cases(paths=None, max_memory: Optional[int] = None) -> list[CaseSpec]:
    """All cases of the given files (default: the built-in library); ids must be unique; each
    case's estimated memory within max_memory (default: budget.max_case_memory())."""
    cases, origin = [], {}
    builtin = {path.resolve() for path in builtin_case_files()}
    for path in paths or builtin_case_files():
        loader = _BUILTIN_LOADER if Path(path).resolve() in builtin else yaml.SafeLoader
        for case in load_file(path, max_memory, loader):
            if case.id in origin:
                raise SpecError(path, case.id, "id", f"duplicate case id (also in {origin[case.id]})")
            origin[case.id] = path
            cases.append(case)
    return cases


def select(cases: list[CaseSpec], patterns: Optional[list[str]]) -> list[CaseSpec]:
    """Cases whose id or group matches any of the glob patterns (substring match without wildcards)."""
    if not patterns:
        return list(cases)

    def hit(case, pattern):
        if any(ch in pattern for ch in "*?["):
            return fnmatch.fnmatchcase(case.id, pattern) or fnmatch.fnmatchcase(case.group, pattern)
        return pattern in case.id or pattern == case.group

    return [c for c in cases if any(hit(c, p) for p in patterns)]
