"""How long a case may be for a check to run on it: one table, as tolerances.py is for errors.

Every valid case runs the forward check whatever its length. The other checks run the
implementation (or the reference's backward pass) several more times per case, so the
library's longest cases (T = 1000 and more) are left to the forward check. Where a limit
means something more than time, its comment says why.
"""

# gradients, state-chaining, batch-independence, strided: each re-runs the implementation on
# derived problems, and the reference's float64 backward pass is slowest at length
REPEATED_RUNS_MAX_SEQ_LEN = 300

# errors: the invalid inputs derived from a valid case (T = 0, a wider x, a wider h0, mixed
# dtypes); a rejection does not depend on the length, so short cases suffice
DERIVED_ERRORS_MAX_SEQ_LEN = 20

# dtypes: the extra float16 / bfloat16 runs; beyond about 50 steps half-precision states
# drift past any useful tolerance (tolerances.py)
HALF_PRECISION_MAX_SEQ_LEN = 50

# determinism: repeated gradient runs (the forward outputs are compared at every length)
DETERMINISM_GRADIENTS_MAX_SEQ_LEN = 50

# training-parity: the one case it runs on (the textbook's N(0, 0.01²) initialisation). It
# trains a model for 300 SGD steps twice, seconds rather than milliseconds per implementation
# and dtype (checks/training.py states the measurement), so it is not run on every case.
TRAINING_PARITY_CASE = "textbook-small-init"
