"""How much memory a case needs, estimated before anything is allocated, and the limit a
case must stay under.

The estimate counts float64 elements with Python integers (no overflow, however absurd the
sizes) and turns them into bytes. It is meant as an upper bound of what running the case
takes in the harness's process: materializing the problem, the golden reference's forward
and backward passes, and the outputs and gradients the checks compare. Its terms, per dtype:

  problem     x, h0, c0 and every parameter, twice: materialize draws float64 values and
              keeps a rounded copy of each (spec/materialize.py); h0 and c0 are counted even
              when the case gives none, because the reference then makes zeros.
  rounding    the temporaries of rounding the largest array to the dtype: one float64-sized
              copy for float16/float32, four for bfloat16 (the bit manipulation in
              materialize.round_to_dtype).
  gradients   one gradient per input and parameter, twice: the reference's and the adapter's.
  outputs     y, the per-step cell states c, h_n and c_n, three times: the reference's, the
              adapter's, and the upstream gradients the gradient checks feed back.
  steps       what the reference keeps for backpropagation through time
              (reference/forward.py, `Step`): per layer, direction and time step, arrays of
              B x H for the pre-activations (a: 4 blocks, plus up to 3 modified copies with
              peepholes or forget_bias), the gates i, f, g, o, c', psi(c'), r and the masked
              h and c (16 in all), and B x P for h' (twice with projection). Each layer's
              input sequence stays alive too (the steps hold views of it), as do the
              per-direction y, c and x_proj buffers of the forward pass.
  objects     Python's own cost of those records: STEP_OVERHEAD bytes per step (a Step and
              its ~17 small ndarray objects) and ARRAY_OVERHEAD per parameter array, which
              dominates for long sequences of tiny steps.

tests/spec/test_budget.py compares this estimate with tracemalloc's peak for real cases.
"""
from __future__ import annotations

import fnmatch
import math
import os
import re
from typing import Optional

from .model import LSTMConfig, input_shape, parameter_shapes, state_shapes

FLOAT64 = 8
STEP_OVERHEAD = 4096  # bytes of Python objects per reference Step (measured ~2.5 KiB, rounded up)
ARRAY_OVERHEAD = 1024  # bytes per parameter array beyond its data (ndarray object, dict entries, names)
STEP_ARRAYS_H = 16  # B x H arrays a Step keeps (see the module docstring)
STEP_ARRAYS_P = 2  # B x P arrays a Step keeps
ROUNDING_COPIES = {"float64": 0, "float32": 1, "float16": 1, "bfloat16": 4}

DEFAULT_SHARE = 0.25  # of the machine's memory: the harness and an isolated worker each get one share
FALLBACK_TOTAL = 8 * 2**30  # assumed total memory where it cannot be read

_limit: Optional[int] = None  # set_max_case_memory(); None: the default


# ------------------------------------------------------------------------ the limit

def total_memory() -> int:
    """Bytes of physical memory (os.sysconf on Linux and macOS; FALLBACK_TOTAL elsewhere)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return FALLBACK_TOTAL
    return total if total > 0 else FALLBACK_TOTAL


def default_max_case_memory() -> int:
    return int(total_memory() * DEFAULT_SHARE)


def max_case_memory() -> int:
    """The limit in force: the one set with set_max_case_memory, else the default."""
    return default_max_case_memory() if _limit is None else _limit


def set_max_case_memory(nbytes: Optional[int]) -> None:
    """Set the limit for this process (None: back to the default)."""
    global _limit
    if nbytes is not None and nbytes < 1:
        raise ValueError(f"the memory limit must be positive, got {nbytes}")
    _limit = nbytes


_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> int:
    """Bytes from '2GiB', '512MiB', '1.5GB', '4096'; ValueError for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = match and _UNITS.get(match.group(2).lower())
    if not unit:
        raise ValueError(f"expected a size such as 2GiB, 512MiB or 1.5GB, got {text!r}")
    value = int(float(match.group(1)) * unit)
    if value < 1:
        raise ValueError(f"expected a positive size, got {text!r}")
    return value


def format_size(nbytes: int) -> str:
    """'1.5 GiB', '512 MiB', '3 KiB', '12 B' (an absurd estimate stays readable: '8e+21 GiB')."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            value = nbytes / scale
            return f"{value:.3g} {unit}" if value < 1e6 else f"{value:.1e} {unit}"
    return f"{nbytes} B"


# ------------------------------------------------------------------------ the estimate

def parameter_elements(config: LSTMConfig) -> tuple[int, int]:
    """(elements, arrays) of the canonical parameters, in closed form (no loop over layers)."""
    H, P, D, L = config.hidden_size, config.output_size, config.num_directions, config.num_layers
    per_direction = 4 * H * P + (8 * H if config.bias else 0) + (config.proj_size * H) + (3 * H if config.peepholes else 0)
    arrays_per_direction = 2 + (2 if config.bias else 0) + (1 if config.proj_size else 0) + (1 if config.peepholes else 0)
    weight_ih = 4 * H * config.input_size + (L - 1) * 4 * H * D * P  # layer 0 sees I, the others D x P
    return D * weight_ih + L * D * per_direction, L * D * arrays_per_direction


def largest_parameter(config: LSTMConfig) -> int:
    """Elements of the largest parameter array (weight_ih of layer 0 or above, weight_hh, weight_hr)."""
    H, P = config.hidden_size, config.output_size
    upper_input = config.num_directions * P if config.num_layers > 1 else 0
    return max(4 * H * max(config.input_size, upper_input, P), config.proj_size * H)


def estimate(config: LSTMConfig, seq_len: int, batch: int, dtype: str = "float64",
             input_elements: Optional[int] = None, param_elements: Optional[int] = None,
             largest: Optional[int] = None) -> int:
    """Bytes running one case in `dtype` may take (see the module docstring for each term).
    input_elements / param_elements / largest (elements of the largest single array) replace
    the counts implied by the configuration (for cases whose arrays have explicit shapes)."""
    T, B = seq_len, (1 if config.unbatched else batch)
    H, P, D, L = config.hidden_size, config.output_size, config.num_directions, config.num_layers
    states = sum(math.prod(s) for s in state_shapes(config, batch).values())
    if input_elements is None:
        input_elements = math.prod(input_shape(config, seq_len, batch)) + states
    n_params, n_arrays = parameter_elements(config)
    if param_elements is not None:
        n_params = param_elements
    if largest is None:
        largest = max(math.prod(input_shape(config, seq_len, batch)), largest_parameter(config))
    outputs = T * B * D * (P + H) + states
    steps = L * D * T * B * (STEP_ARRAYS_H * H + STEP_ARRAYS_P * P)
    layer_buffers = T * B * (L * D * P + D * (P + 5 * H))  # layer inputs kept; y, c, x_proj of a layer
    elements = (2 * (input_elements + n_params) + ROUNDING_COPIES.get(dtype, 4) * largest
                + 2 * (input_elements + n_params) + 3 * outputs + steps + layer_buffers)
    return FLOAT64 * elements + STEP_OVERHEAD * L * D * T + ARRAY_OVERHEAD * n_arrays


def materialize_estimate(dtype: str, input_elements: int, param_elements: int, largest: int) -> int:
    """Bytes materialize alone may take: the drawn and the rounded arrays, and the rounding
    temporaries of the largest one."""
    return FLOAT64 * (2 * (input_elements + param_elements) + ROUNDING_COPIES.get(dtype, 4) * largest)


def _elements(spec, default_shape: tuple) -> int:
    """Elements of one data spec: its explicit shape (expect_error cases) or the default."""
    shape = spec.get("shape", default_shape) if isinstance(spec, dict) else default_shape
    return math.prod(shape)


def case_elements(case) -> tuple[int, int, int]:
    """(input elements, parameter elements, elements of the largest array) of a spec case (a
    loader.CaseSpec), honouring explicit shapes; h0 and c0 are counted even when absent (the
    reference makes zeros)."""
    config = case.config
    T, B = case.shape["seq_len"], case.shape["batch"]
    default = {"x": input_shape(config, T, B), **state_shapes(config, B)}
    sizes = [_elements(case.inputs.get(name), shape) for name, shape in default.items()]
    explicit = {p: s for p, s in case.parameters.items() if isinstance(s, dict) and "shape" in s}
    if not explicit:
        return sum(sizes), parameter_elements(config)[0], max(sizes + [largest_parameter(config)])
    params = []
    for name, shape in parameter_shapes(config).items():  # only for cases with explicit shapes
        spec = None
        for pattern, given in case.parameters.items():  # the last matching pattern wins, as in materialize
            if fnmatch.fnmatchcase(name, pattern):
                spec = given
        params.append(_elements(spec, shape))
    return sum(sizes), sum(params), max(sizes + params)


def case_estimate(case, dtype: str) -> int:
    """estimate() for a spec case in one dtype."""
    return estimate(case.config, case.shape["seq_len"], case.shape["batch"], dtype, *case_elements(case))


def refusal(needed: int, limit: int, dtype: str) -> str:
    """The message for a case over the limit."""
    return (f"needs about {format_size(needed)} of memory in {dtype} (estimated before allocating anything: "
            f"inputs, parameters, outputs, gradients and the reference's intermediates), more than the limit "
            f"of {format_size(limit)}; make the case smaller or raise the limit (--max-case-memory)")
