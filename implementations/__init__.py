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

# Libraries tried for the survey that have no adapter, and why (the survey report lists them).
TRIED_WITHOUT_ADAPTER = {
    "onnx2torch": "onnx2torch 1.5.15 has no converter for the ONNX LSTM node (NotImplementedError: 'Converter is "
                  "not implemented ... operation_type=LSTM'; ENOT-AutoDL/onnx2torch#136, open); it also imports "
                  "torchvision at load, which does not import beside a torch CPU wheel of another release",
    "mxnet": "mxnet 1.9.1 (the last release) fails at import with the numpy pip picks for it (1.26.4): "
             "\"module 'numpy' has no attribute 'bool'\"; it needs numpy < 1.24, below this project's numpy >= 1.24",
    "dynet": "dynet 2.1.2 has no wheel for Python 3.11; its source build downloads Eigen from github.com during the "
             "build, so it does not install from the public package index alone",
}
