"""Golden float64 NumPy reference of the LSTM spec (no torch): forward and BPTT backward."""
from .backward import lstm_backward
from .forward import ForwardResult, lstm_forward, rejects, validate_problem

__all__ = ["ForwardResult", "lstm_backward", "lstm_forward", "rejects", "validate_problem"]
