"""`onnxruntime`: the ONNX LSTM operator run by onnxruntime on the CPU, over the ONNX route
of onnx_model.py (the model, its feeds, the outputs in canonical layout).

One declared fallback: onnxruntime refuses the node's layout = 1 ("Batchwise recurrent
operations (layout == 1) are not supported"), so batch_first runs as Transpose nodes around a
layout = 0 node, in the graph (onnx_model.LAYOUT_FALLBACK). onnx and onnxruntime are an
optional extra and are imported only when a model is built.
"""
from __future__ import annotations

import importlib.util
from typing import Optional

from ..adapter import Adapter, Capabilities
from .onnx_model import (IR_VERSION, ONNX_ACTIVATIONS, OPSET, TAKES_ALPHA, TAKES_BETA,  # noqa: F401  (re-exported)
                         OnnxLSTM, activation_attributes, capabilities)
from .onnx_model import LAYOUT_FALLBACK
from .onnx_model import REASONS as ONNX_REASONS

INSTALL_HINT = "pip install lstm-conformance[onnx]"

REASONS = {
    "dtype": "onnxruntime's CPU LSTM kernel computes in float32 only "
             "(float64 fails with 'LSTM operator does not support double yet')",
    **ONNX_REASONS,
}


# Found with this suite (onnxruntime 1.32.0, CPU): session.run of an LSTM node with batch
# size 0 aborts the Python process (SIGABRT, "terminate called without an active exception")
# instead of returning empty outputs. The adapter refuses to call it so that the run survives;
# tests/implementations/test_onnxruntime.py checks that the abort still happens.
BATCH_0_ABORT = ("not run: onnxruntime aborts the whole process (SIGABRT, 'terminate called without an "
                 "active exception') on an LSTM with batch size 0")


def missing_package() -> Optional[str]:
    for package in ("onnxruntime", "onnx"):
        if importlib.util.find_spec(package) is None:
            return package
    return None


class OnnxRuntimeAdapter(Adapter):
    name = "onnxruntime"
    description = f"ONNX LSTM operator run by onnxruntime (CPU execution provider); {LAYOUT_FALLBACK}"

    def skip_reason(self) -> Optional[str]:
        missing = missing_package()
        return f"{missing} not installed ({INSTALL_HINT})" if missing else None

    def capabilities(self) -> Capabilities:
        return capabilities(dtypes={"float32"}, devices={"cpu"}, reasons=REASONS)

    def prepare(self, problem):
        if problem.batch == 0:
            raise RuntimeError(BATCH_0_ABORT)
        import onnxruntime

        model = OnnxLSTM(problem, layout_attribute=False)  # onnxruntime rejects layout = 1
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4  # a refused input raises with the same message: no log needed
        session = onnxruntime.InferenceSession(model.serialized(), options, providers=["CPUExecutionProvider"])
        feeds, names = model.feeds, model.output_names
        return lambda: model.outputs(session.run(names, feeds))
