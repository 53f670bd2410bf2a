"""The mutant zoo: defective LSTMs that measure what the suite catches (the mutation score).

Kept in conformance/, not implementations/: they are the suite's own test equipment, not
implementations anyone validates, so they stay out of the adapter registry and `list impls`.
control.py is the correct base, zoo.py the defects, score.py the kill matrix.
"""
from .control import ControlLSTM
from .score import QUICK_CASES, good, kill_matrix_markdown, run_mutants
from .zoo import ZOO, Mutant

__all__ = ["ControlLSTM", "Mutant", "QUICK_CASES", "ZOO", "good", "kill_matrix_markdown", "run_mutants"]
