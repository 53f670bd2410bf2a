"""A complete worked example: validating a from-scratch LSTM with lstm-conformance.

The implementation is the vectorised one of docs/TEXTBOOK.md §2: right-multiplied W (I, 4H) and
U (H, 4H), one bias (4H), gate order i, f, g, o, batch-first input (B, T, I).

    lstm-conformance run --impl examples/vectorised_lstm.py:VectorisedLSTM
    pytest --lstm-impl examples/vectorised_lstm.py:VectorisedLSTM
"""
import torch

from lstm_conformance.adapter import Adapter, Capabilities


class ScratchLSTM(torch.nn.Module):
    """The implementation under test, written as a from-scratch tutorial would."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.W = torch.nn.Parameter(torch.empty(input_size, 4 * hidden_size))
        self.U = torch.nn.Parameter(torch.empty(hidden_size, 4 * hidden_size))
        self.bias = torch.nn.Parameter(torch.empty(4 * hidden_size))

    def forward(self, x, state=None):
        batch, steps, _ = x.shape
        H = self.hidden_size
        h, c = state if state is not None else (x.new_zeros(batch, H), x.new_zeros(batch, H))
        outputs = []
        for t in range(steps):
            gates = x[:, t] @ self.W + h @ self.U + self.bias
            i, f = torch.sigmoid(gates[:, :H]), torch.sigmoid(gates[:, H:2 * H])
            g, o = torch.tanh(gates[:, 2 * H:3 * H]), torch.sigmoid(gates[:, 3 * H:])
            c = f * c + i * g
            h = o * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1), (h, c)


class VectorisedLSTM(Adapter):
    name = "scratch-vectorised"
    description = "TEXTBOOK.md §2 vectorised from-scratch LSTM (examples/vectorised_lstm.py)"

    def capabilities(self):
        # One layer, one direction, standard activations; it always has a bias (zero = no bias).
        return Capabilities(dtypes={"float32", "float64"}, features={"bias", "initial_state", "batch_first"})

    def prepare(self, problem):
        cfg, dtype = problem.config, getattr(torch, problem.dtype)
        model = ScratchLSTM(cfg.input_size, cfg.hidden_size).to(dtype)
        p = problem.params
        with torch.no_grad():  # canonical (PyTorch) layout -> this model's layout
            model.W.copy_(torch.from_numpy(p["weight_ih_l0"].T))
            model.U.copy_(torch.from_numpy(p["weight_hh_l0"].T))
            bias = p["bias_ih_l0"] + p["bias_hh_l0"] if cfg.bias else 0 * p["weight_ih_l0"][:, 0]
            model.bias.copy_(torch.from_numpy(bias))
        x = torch.from_numpy(problem.x).to(dtype)
        if not cfg.batch_first:
            x = x.transpose(0, 1)  # the model wants (B, T, I)
        state = None
        if problem.h0 is not None or problem.c0 is not None:
            zeros = torch.zeros(problem.batch, cfg.hidden_size, dtype=dtype)
            # reshape, not s[0]: a state with more than one layer slice must be rejected, not cut
            # (and the shape checked first: with B = 0 any shape reshapes to an empty one)
            for s in (problem.h0, problem.c0):
                if s is not None and s.shape != (1,) + tuple(zeros.shape):
                    raise ValueError(f"state of shape {s.shape}, expected {(1,) + tuple(zeros.shape)}")
            state = tuple(zeros if s is None else torch.from_numpy(s).reshape(zeros.shape).to(dtype)
                          for s in (problem.h0, problem.c0))

        def run():
            with torch.no_grad():
                y, (h, c) = model(x, state)
            y = y if cfg.batch_first else y.transpose(0, 1)
            return {"y": y, "h_n": h[None], "c_n": c[None]}

        return run
