"""JSON Schema of spec case files (validated with jsonschema before any semantic check)."""
from __future__ import annotations

from .model import DIRECTIONS, DTYPES, OUTPUTS, PADDINGS, PEEPHOLE_OUTPUT_STATES

_NUMBER = {"type": "number"}

ACTIVATION = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "alpha": _NUMBER, "beta": _NUMBER},
        },
    ]
}

# How an array is made: a keyword, a literal, or a stated distribution (drawn from the case seed).
DATA = {
    "oneOf": [
        {"enum": ["zeros", "ones", "none"]},
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "literal": {"type": ["array", "number"]},
                "fill": _NUMBER,
                "uniform": {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2},
                "normal": {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2},
                # Multiply the four gate blocks (i, f, g, o) of a (4H, ...) array by these factors.
                "block_scale": {"type": "array", "items": _NUMBER, "minItems": 4, "maxItems": 4},
                # Override the shape (only for expected-error cases that need a wrong shape).
                "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            },
        },
    ]
}

SHAPE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["seq_len", "batch", "input_size", "hidden_size"],
    "properties": {k: {"type": "integer", "minimum": 0} for k in ("seq_len", "batch", "input_size", "hidden_size")},
}

OPTIONS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "bias": {"type": "boolean"},
        "num_layers": {"type": "integer", "minimum": 1},
        "bidirectional": {"type": "boolean"},
        "direction": {"enum": list(DIRECTIONS)},
        "proj_size": {"type": "integer", "minimum": 0},
        "batch_first": {"type": "boolean"},
        "unbatched": {"type": "boolean"},
        "peepholes": {"type": "boolean"},
        "peephole_output_state": {"enum": list(PEEPHOLE_OUTPUT_STATES)},
        "cell_clip": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "input_forget": {"type": "boolean"},
        "forget_bias": _NUMBER,
        # SPEC.md §7: what y holds past a row's length (Keras masking carries the last output)
        "padding": {"enum": list(PADDINGS)},
        # TF/TFLite (SPEC.md §2): TF1 cell_clip on the state, the projection clip, layer norm
        "state_clip": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "proj_clip": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "layer_norm": {"type": "boolean"},
        "activations": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"gate": ACTIVATION, "cell": ACTIVATION, "hidden": ACTIVATION},
        },
        # the reverse direction's activations of a bidirectional LSTM; a role left out is the
        # forward direction's (`activations`)
        "activations_reverse": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"gate": ACTIVATION, "cell": ACTIVATION, "hidden": ACTIVATION},
        },
    },
}

EXPECTATION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["output", "values"],
    "properties": {
        "output": {"enum": list(OUTPUTS) + ["c_entering"]},
        "values": {"type": "array"},
        "round": {"type": "integer", "minimum": 0},
        "atol": {"type": "number", "minimum": 0},
    },
}

# Keys a matrix variant may override (deep-merged into the case).
_OVERRIDABLE = {
    "shape": {"type": "object"},
    "options": {"type": "object"},
    "inputs": {"type": "object"},
    "parameters": {"type": "object"},
    "dtypes": {"type": "array"},
    "seed": {"type": "integer"},
}

CASE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "about"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"},
        "about": {"type": "string", "minLength": 1},
        "group": {"type": "string", "minLength": 1},
        "tags": {"type": "array", "items": {"type": "string"}},
        "shape": SHAPE,
        "options": OPTIONS,
        "dtypes": {"type": "array", "items": {"enum": list(DTYPES)}, "minItems": 1, "uniqueItems": True},
        "seed": {"type": "integer", "minimum": 0},
        "inputs": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "x": DATA,
                "h0": DATA,
                "c0": DATA,
                "lengths": {"type": "array", "items": {"type": "integer"}},
            },
        },
        "parameters": {"type": "object", "propertyNames": {"type": "string"}, "additionalProperties": DATA},
        "expect": {"type": "array", "items": EXPECTATION},
        # The inputs are invalid: an implementation must raise. The text says why.
        "expect_error": {"type": "string", "minLength": 1},
        # Declared variants: axis name -> {label: overrides}; the cartesian product is expanded.
        "matrix": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"type": "string"},
            "additionalProperties": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"},  # a YAML key may be null or a number
                "additionalProperties": {
                    "type": ["object", "null"],
                    "additionalProperties": False,
                    "properties": _OVERRIDABLE,
                },
            },
        },
    },
}

FILE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["cases"],
    "properties": {
        "group": {"type": "string", "minLength": 1},
        "about": {"type": "string"},
        "cases": {"type": "array", "items": {"type": "object"}},
    },
}
