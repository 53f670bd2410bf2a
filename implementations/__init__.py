"""Built-in implementations under test, one module each, with their adapters."""

# Built-in adapters by name -> "module:Class" (imported lazily: torch loads only when needed).
BUILTIN = {
    "numpy": "lstm_conformance.implementations.numpy_lstm:NumpyAdapter",
    "torch-cell": "lstm_conformance.implementations.torch_cell:TorchCellAdapter",
    "torch-lstm": "lstm_conformance.implementations.torch_lstm:TorchLSTMAdapter",
    "cuda": "lstm_conformance.implementations.cuda:CudaLSTMAdapter",
    # optional extra: pip install lstm-conformance[onnx]
    "onnxruntime": "lstm_conformance.implementations.onnxruntime_lstm:OnnxRuntimeAdapter",
    # our fused Triton kernel; optional extra: pip install lstm-conformance[triton]
    "triton": "lstm_conformance.implementations.triton_lstm:TritonLSTMAdapter",
}
