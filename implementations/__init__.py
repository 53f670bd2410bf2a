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
    # Flax linen LSTMCell / OptimizedLSTMCell under nn.RNN; optional extra: pip install lstm-conformance[flax]
    "flax": "lstm_conformance.implementations.flax_lstm:FlaxLSTMAdapter",
    "flax-optimized": "lstm_conformance.implementations.flax_lstm:FlaxOptimizedLSTMAdapter",
    # the Keras 3 LSTM layer on the backend Keras would take, or on a pinned one; extra: lstm-conformance[keras]
    "keras": "lstm_conformance.implementations.keras_lstm:KerasAdapter",
    "keras-tensorflow": "lstm_conformance.implementations.keras_lstm:KerasTensorflowAdapter",
    "keras-jax": "lstm_conformance.implementations.keras_lstm:KerasJaxAdapter",
    "keras-torch": "lstm_conformance.implementations.keras_lstm:KerasTorchAdapter",
    # surveyed real implementations; optional extras: pip install lstm-conformance[tensorflow] / [paddle]
    "tf-block-lstm": "lstm_conformance.implementations.tf_block_lstm:TfBlockLSTMAdapter",
    "tflite": "lstm_conformance.implementations.tflite_lstm:TFLiteLSTMAdapter",
    "paddle": "lstm_conformance.implementations.paddle_lstm:PaddleLSTMAdapter",
    # JAX family: eqx.nn.LSTMCell under lax.scan, hk.LSTM under hk.dynamic_unroll;
    # optional extras: pip install lstm-conformance[equinox] / [haiku]
    "equinox": "lstm_conformance.implementations.equinox_lstm:EquinoxLSTMAdapter",
    "haiku": "lstm_conformance.implementations.haiku_lstm:HaikuLSTMAdapter",
    # Apple MLX's mlx.nn.LSTM on the CPU; optional extra: [mlx]
    "mlx": "lstm_conformance.implementations.mlx_lstm:MlxLSTMAdapter",
}
