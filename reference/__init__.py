"""Golden float64 NumPy reference of the LSTM spec (no torch)."""
from .forward import ForwardResult, lstm_forward, validate_problem

__all__ = ["ForwardResult", "lstm_forward", "validate_problem"]
