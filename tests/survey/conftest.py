"""Import order for the survey's tests, which load several frameworks into one pytest process.

PaddlePaddle (3.3.1) crashes the process (SIGSEGV in paddle.base.core) when it is imported
after TensorFlow has been; imported first, both work. The test modules are collected in name
order (keras, ..., paddle, tf), so paddle is imported here, before any of them, when it is
installed. The paddle adapter refuses, with this reason, to load in a process that already has
TensorFlow (implementations/paddle_lstm.py)."""
import importlib.util

if importlib.util.find_spec("paddle") is not None:
    import paddle  # noqa: F401
