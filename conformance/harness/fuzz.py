"""`lstm-conformance fuzz --impl X`: property-based search for problems on which an
implementation disagrees with the reference.

Hypothesis draws problems within the adapter's declared capabilities: sizes, every option of
LSTMConfig the adapter declares (layers, direction, projection, batch_first or unbatched,
peepholes and which state the output peephole sees, cell_clip, input_forget, forget_bias,
biases, TF's state_clip and proj_clip, TFLite's layer_norm, and, with lengths, padding
carry), activations with their parameters, initial states, lengths and dtypes (in float32 the gates take bounded activations only:
BOUNDED_GATES says why). Each problem is a spec case built in code (its arrays drawn
from a seed) and is judged by the forward check, with the calibrated tolerances. On a failure
hypothesis shrinks the problem (fewer steps, rows, units, options), and the smallest failing
one is written as a YAML case with literal inputs and parameters, which the loader reads and
`lstm-conformance run --impl X --cases FILE` replays.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from ..checks import ReferenceCache
from ..report.results import FAILED, NOT_RUN
from ..spec.loader import CaseSpec, SpecError, check_case
from ..spec.materialize import materialize
from ..spec.model import ACTIVATION_DEFAULTS, ACTIVATION_NAMES, ACTIVATION_ROLES
from .literal_case import case_document, write_case_file
from .runner import run_checks

FUZZ_DTYPES = ("float32", "float64")
# activations whose alpha and beta are drawn (ONNX's parameterised ones, and scaled_tanh)
PARAMETERISED = set(ACTIVATION_DEFAULTS) | {"scaled_tanh"}
# In float32 the gates take only bounded activations (|σ| ≤ 1): an unbounded gate (identity,
# affine, relu, ...) multiplies the state by more than 1 at each step, and float32's rounding
# errors grow with it past any tolerance, or to inf, on problems where the implementation is
# right. float64 keeps every activation: its errors stay far below its tolerance at these sizes.
BOUNDED_GATES = ("sigmoid", "hard_sigmoid", "tanh", "softsign")


@dataclass
class Search:
    examples: int = 200
    seed: int = 0
    dtypes: Optional[list] = None  # None: those the adapter declares, of float32 and float64
    max_size: int = 6  # largest T, B, I and H


@dataclass
class FuzzResult:
    impl: str
    examples: int  # problems judged (the unsupported ones drawn are not counted)
    failure: Optional[dict] = None  # the record of the smallest failing problem
    case_file: Optional[Path] = None
    command: str = ""
    problem: dict = field(default_factory=dict)  # shape and options of that problem

    @property
    def passed(self) -> bool:
        return self.failure is None

    def text(self) -> str:
        if self.passed:
            return f"{self.impl}: no failure in {self.examples} problems"
        return (f"{self.impl}: fails after shrinking on {self.problem}\n  {self.failure['status']}: "
                f"{self.failure['message']}\nwrote {self.case_file}; replay it with:\n  {self.command}")


def _activation(draw, name: str):
    if name not in PARAMETERISED:
        return name
    value = st.floats(-2.0, 2.0, allow_nan=False).map(lambda v: round(v, 2))
    return {"name": name, "alpha": draw(value), "beta": draw(value)}


@st.composite
def fuzz_cases(draw, caps, search: Search) -> CaseSpec:
    """A spec case within the capabilities `caps`, with one dtype."""
    features, size = caps.features, st.integers(1, search.max_size)
    dtypes = [d for d in (search.dtypes or FUZZ_DTYPES) if d in caps.dtypes]
    if not dtypes:
        raise ValueError(f"the implementation declares none of the dtypes {', '.join(search.dtypes or FUZZ_DTYPES)}")
    has = lambda feature: feature in features  # noqa: E731
    flag = lambda feature: draw(st.booleans()) if has(feature) else False  # noqa: E731
    dtype = draw(st.sampled_from(dtypes))
    T, B, I, H = draw(size), draw(size), draw(size), draw(size)
    options = {"bias": flag("bias")}
    unbatched = flag("unbatched")
    if unbatched:
        options["unbatched"], B = True, 1
    elif flag("batch_first"):
        options["batch_first"] = True
    if has("layers"):
        options["num_layers"] = draw(st.integers(1, 2))
    directions = ["forward"] + [d for d in ("reverse", "bidirectional") if has(d)]
    options["direction"] = draw(st.sampled_from(directions))
    if H > 1 and flag("projection"):
        options["proj_size"] = draw(st.integers(1, H - 1))
    for name in ("peepholes", "input_forget"):
        if flag(name):
            options[name] = True
    if options.get("peepholes") and flag("peephole_output_previous"):
        options["peephole_output_state"] = "previous"
    if flag("cell_clip"):
        options["cell_clip"] = draw(st.sampled_from([0.5, 1.0, 3.0]))
    # The TF clips bind at the library's scales: cell states and projected outputs are mostly
    # below 1 there, so the smaller bounds clip a good share of the elements.
    if flag("state_clip"):
        options["state_clip"] = draw(st.sampled_from([0.1, 0.25, 0.5, 1.0]))
    if "proj_size" in options and flag("proj_clip"):
        options["proj_clip"] = draw(st.sampled_from([0.05, 0.1, 0.25, 1.0]))
    if flag("layer_norm"):
        options["layer_norm"] = True
    if flag("forget_bias"):
        options["forget_bias"] = draw(st.sampled_from([1.0, -1.0, 0.5]))
    acts = {}
    for role in ACTIVATION_ROLES:
        allowed = ACTIVATION_NAMES if caps.activations is None else sorted(caps.activations.get(role, ()))
        if role == "gate" and dtype != "float64":
            allowed = [name for name in allowed if name in BOUNDED_GATES]
        default = {"gate": "sigmoid", "cell": "tanh", "hidden": "tanh"}[role]
        if allowed and (len(allowed) > 1 or allowed[0] != default) and draw(st.booleans()):
            acts[role] = _activation(draw, draw(st.sampled_from(list(allowed))))
    if acts:
        options["activations"] = acts
    # the library's scales (x and states U(-1, 1), PyTorch's initialisation of the parameters),
    # within which the tolerances were calibrated
    inputs = {"x": {"uniform": [-1.0, 1.0]}}
    for state in ("h0", "c0"):
        inputs[state] = {"uniform": [-1.0, 1.0]} if flag("initial_state") else "none"
    if has("variable_lengths") and not unbatched and draw(st.booleans()):
        inputs["lengths"] = draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
        if flag("padding_carry"):  # past a row's length y repeats its last output (Keras), not zeros
            options["padding"] = "carry"
    case = CaseSpec(id="fuzz", about="drawn by lstm-conformance fuzz", group="fuzz", file="<fuzz>",
                    shape={"seq_len": T, "batch": B, "input_size": I, "hidden_size": H}, options=options,
                    dtypes=(dtype,), seed=draw(st.integers(0, 2**32 - 1)), inputs=inputs)
    try:
        check_case(case)
    except SpecError:
        assume(False)  # a combination the spec does not allow
    return case


def fuzz(adapter, impl_spec: str, search: Search = Search(), out: Path = Path("reports/fuzz")) -> FuzzResult:
    """Search for a failing problem; the shrunk one is written to OUT/fuzz-<name>.yaml."""
    cache, judged, failures = ReferenceCache(use_disk=False), [0], []

    @seed(search.seed)
    @settings(max_examples=search.examples, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(fuzz_cases(adapter.capabilities(), search))
    def property_(case):
        record = run_checks(case, case.dtypes[0], adapter, cache, ["forward"], diagnose=False)[0]
        assume(record["status"] not in NOT_RUN)
        judged[0] += 1
        if record["status"] in FAILED:
            failures.append((case, record))  # the last one is the shrunk one: hypothesis replays it last
            raise AssertionError(record["message"])

    try:
        property_()
    except (AssertionError, HypothesisException):
        if not failures:
            raise
    result = FuzzResult(impl=adapter.name, examples=judged[0])
    if failures:
        _write_failure(result, adapter, impl_spec, search, cache, failures[-1], Path(out))
    return result


def _write_failure(result: FuzzResult, adapter, impl_spec: str, search: Search, cache, failure, out: Path) -> None:
    case, record = failure
    record = run_checks(case, case.dtypes[0], adapter, cache, ["forward"])[0]  # again, with the diagnosis
    problem = materialize(case, case.dtypes[0])
    name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in adapter.name)
    case_id = f"fuzz-{name}-seed{search.seed}"
    path = out / f"fuzz-{name}.yaml"
    command = f"lstm-conformance run --impl {shlex.quote(impl_spec)} --cases {shlex.quote(str(path))}"
    about = f"the smallest failing problem lstm-conformance fuzz found for {adapter.name}: {record['message'].split('; ')[0][:300]}"
    header = (f"Found by: lstm-conformance fuzz --impl {impl_spec} --examples {search.examples} --seed {search.seed}\n"
              f"Replay:   {command}")
    write_case_file(path, "fuzz", f"shrunk failures of {adapter.name}", [case_document(problem, case_id, about)],
                    header)
    result.failure, result.case_file, result.command = record, path, command
    result.problem = {"dtype": case.dtypes[0], **case.shape, **{k: v for k, v in case.options.items()},
                      **{k: "given" for k, v in case.inputs.items() if k in ("h0", "c0") and v != "none"},
                      **({"lengths": case.inputs["lengths"]} if "lengths" in case.inputs else {})}
