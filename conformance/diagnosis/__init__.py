"""Diagnosis of a failure: where the outputs deviate, and which known defect reproduces them.

`where`: for each failing output, the first failing time step, the failing steps, rows
(batch), units, directions and layers; for gradients, the failing arrays and, for the
(4H, ·) parameters, the gate blocks.

`patterns` (forward): the reference is re-run with each known defect built in, through its
own loop (StepHooks) so that only the defect differs. Listed defects: gate blocks in each of
the 23 wrong orders, a bias dropped, the initial state (or h0, or c0) ignored, no activation
on the cell output, the cell clipped, the forget path dropped, time reversed, h_n/c_n
swapped or taken from the wrong step, a direction's last step skipped, padding processed,
rows sharing state, the reverse direction misaligned, inputs' strides ignored; each option of
the case at its default ("X ignored") or in a known partial form (the clip applied to the
gate pre-activations only, or to ψ's input only, or to the carried state as TF1 does).
Searched systematically (`defect_models`): a gate swap confined to one array, each gate
forced to 1 or 0, each activation computed as each other one, σ overflowing as
e^z / (1 + e^z), a direction started a step late or early, y and c batch-major. A pattern is
named when its outputs differ from the reference on this problem (so it could explain a
failure) and reproduce the implementation's within 4× the tolerance. Recognised from the
outputs instead: computed in float16 / bfloat16 (every output a number of that dtype), then,
where nothing else is named, arithmetic rounded per operation (deviating as the reference
rounded so does) and y written wrong while the recurrence is right.

Gradients: an upstream term ignored, the state path through h, c or both detached, the
initial state ignored (the reference backward with that defect), a gate block's gradient
copied from another block, else the defect of a wrong forward pass. The other checks:
the derived runs of state-chaining, batch-independence, strided and padding-invariance are
diagnosed as the forward check's run (so one defect is one group in the summary),
determinism names run-to-run noise, dtypes upcast outputs, errors what an accepted invalid
input computed.

Modules: where.py (locating the deviation), rerun.py (the reference re-run with a defect),
options.py, searched.py and forward_models.py (forward defect models), prefix.py (a long
problem's causal models screened on its first steps), forward.py (the forward check's
diagnosis), gradients.py (gradient defect models and their diagnosis), consistency.py (the
other checks), messages.py (the text).
"""
from .consistency import (diagnose_accepted_inputs, diagnose_output_dtypes, diagnose_repeated_runs,
                          diagnose_runs)
from .forward import (MATCH_FACTOR, MAX_STEPS_FOR_PATTERNS, computed_in, diagnose_forward, diagnose_outputs,
                      rounded_per_operation, written_wrong)
from .forward_models import forward_variants
from .gradients import _gradient_models, _reproduces_gradients, diagnose_gradients  # noqa: F401 (tests)
from .messages import MAX_PLACES, attach
from .options import option_variants
from .rerun import GATED_ARRAYS, forward_with, gate_order_name, permute_gates
from .searched import defect_models
from .where import compact, locate_output, locate_outputs

__all__ = ["GATED_ARRAYS", "MATCH_FACTOR", "MAX_PLACES", "MAX_STEPS_FOR_PATTERNS", "attach", "compact",
           "computed_in", "defect_models", "diagnose_accepted_inputs", "diagnose_forward", "diagnose_gradients",
           "diagnose_output_dtypes", "diagnose_outputs", "diagnose_repeated_runs", "diagnose_runs", "forward_variants",
           "forward_with", "gate_order_name", "locate_output", "locate_outputs", "option_variants", "permute_gates",
           "rounded_per_operation", "written_wrong"]
