"""lstm-conformance: a conformance test suite and reference-spec harness for LSTM implementations."""
__version__ = "0.1.0"
