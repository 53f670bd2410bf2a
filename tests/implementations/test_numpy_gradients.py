"""The numpy implementation's backward pass (implementations/numpy_lstm_training.py): against
torch autograd in float64 on the structural options, and its activation slopes against finite
differences. The library-wide comparison with the reference's BPTT (every activation, peepholes,
clip, input-forget) is the gradients check in test_builtin_adapters.py."""
import numpy as np
import pytest
import torch

from lstm_conformance.implementations.numpy_lstm import NumpyAdapter, activation
from lstm_conformance.implementations.numpy_lstm_training import derivative, lstm_numpy_gradients
from lstm_conformance.harness.runner import run_case, run_checks
from lstm_conformance.spec.model import LSTMConfig

T, B, I, H = 4, 3, 3, 5


@pytest.fixture(scope="module")
def cases(library):
    return {c.id: c for c in library}


def torch_gradients(config, x, params, h0, c0, lengths, upstream):
    module = torch.nn.LSTM(I, H, num_layers=config.num_layers, bias=config.bias, bidirectional=config.bidirectional,
                           proj_size=config.proj_size, batch_first=config.batch_first, dtype=torch.float64)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.from_numpy(params[name]))
    xt, h0t, c0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    if lengths is None:
        y, (h_n, c_n) = module(xt, (h0t, c0t))
    else:
        rnn = torch.nn.utils.rnn
        packed = rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=config.batch_first,
                                          enforce_sorted=False)
        y, (h_n, c_n) = module(packed, (h0t, c0t))
        y, _ = rnn.pad_packed_sequence(y, batch_first=config.batch_first, total_length=T)
    loss = sum((out * torch.from_numpy(upstream[k])).sum() for k, out in (("y", y), ("h_n", h_n), ("c_n", c_n)))
    names = [n for n, _ in module.named_parameters()]
    grads = torch.autograd.grad(loss, [xt, h0t, c0t, *module.parameters()])
    return dict(zip(["x", "h0", "c0", *names], (g.numpy() for g in grads)))


OPTIONS = [dict(), dict(num_layers=2), dict(bidirectional=True), dict(proj_size=2), dict(bias=False),
           dict(batch_first=True), dict(forget_bias=1.0), dict(lengths=[4, 2, 1]),
           dict(num_layers=2, bidirectional=True, proj_size=3, batch_first=True, lengths=[2, 4, 3])]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_numpy_gradients_match_torch_autograd(options):
    options = dict(options)
    lengths = options.pop("lengths", None)
    config = LSTMConfig(input_size=I, hidden_size=H, **options)
    rng = np.random.default_rng(7)
    shapes = torch.nn.LSTM(I, H, num_layers=config.num_layers, bias=config.bias, bidirectional=config.bidirectional,
                           proj_size=config.proj_size)
    params = {n: rng.uniform(-0.5, 0.5, p.shape) for n, p in shapes.named_parameters()}
    x = rng.standard_normal((B, T, I) if config.batch_first else (T, B, I))
    lead, P = config.num_layers * config.num_directions, config.output_size
    h0, c0 = rng.standard_normal((lead, B, P)), rng.standard_normal((lead, B, H))
    y_shape = x.shape[:-1] + (config.num_directions * P,)
    upstream = {"y": rng.standard_normal(y_shape), "h_n": rng.standard_normal(h0.shape),
                "c_n": rng.standard_normal(c0.shape)}
    ours = lstm_numpy_gradients(config, x, params, h0, c0, lengths, upstream, np.float64)
    torch_params = dict(params)
    for name in [n for n in params if n.startswith("bias_ih")]:  # torch has no forget_bias: fold it in
        torch_params[name] = params[name].copy()
        torch_params[name][H:2 * H] += config.forget_bias
    theirs = torch_gradients(config, x, torch_params, h0, c0, lengths, upstream)
    assert set(ours) == set(theirs)
    for name in theirs:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-10, atol=1e-12, err_msg=name)


ACTIVATIONS = [("sigmoid", None, None), ("tanh", None, None), ("identity", None, None), ("relu", None, None),
               ("hard_sigmoid", None, None), ("hard_sigmoid", 0.3, 0.4), ("affine", 1.5, 0.2),
               ("leaky_relu", None, None), ("leaky_relu", 0.2, None), ("thresholded_relu", 0.5, None),
               ("scaled_tanh", 1.2, 0.7), ("elu", 0.8, None), ("softsign", None, None), ("softplus", None, None)]


@pytest.mark.parametrize("name, alpha, beta", ACTIVATIONS, ids=lambda v: str(v))
def test_activation_slopes_match_finite_differences(name, alpha, beta):
    u = np.linspace(-4, 4, 81) + 0.013  # no grid point within 1e-3 of a kink
    f, slope, eps = activation(name, alpha, beta), derivative(name, alpha, beta), 1e-6
    numeric = (f(u + eps, np.empty_like(u)) - f(u - eps, np.empty_like(u))) / (2 * eps)
    np.testing.assert_allclose(slope(u), numeric, rtol=1e-6, atol=1e-8)


def test_every_library_case_has_numpy_gradients(cases):
    """The numpy backward covers every feature its forward does, so no case is unsupported."""
    for case_id in ("peepholes", "peepholes-bidirectional-multi-layer", "cell-clip-binds", "cell-clip-random",
                    "input-forget", "forget-bias/minus2", "act-softplus", "act-hard-sigmoid-custom", "act-everything-nonstandard"):
        for dtype in ("float32", "float64"):
            record = run_case(cases[case_id], dtype, NumpyAdapter(), check="gradients")
            assert record["status"] == "pass", (case_id, dtype, record["message"])


def test_an_adapter_can_declare_gradients_unsupported_per_problem(cases):
    class NoPeepholeGradients(NumpyAdapter):
        name = "no-peephole-gradients"

        def gradients_unsupported_reason(self, problem):
            return "no backward with peepholes" if problem.config.peepholes else None

    case = cases["peepholes"]
    for check in ("gradients", "determinism"):
        records = run_checks(case, "float64", NoPeepholeGradients(), checks=[check])
        if check == "gradients":
            assert records[0]["status"] == "unsupported" and records[0]["message"] == "no backward with peepholes"
        else:  # determinism still runs, on the forward pass only
            assert records[0]["status"] == "pass"
    assert run_case(cases["random/t5b3i4h7/bias/given-state"], "float64", NoPeepholeGradients(),
                    check="gradients")["status"] == "pass"


def test_training_callable_returns_every_gradient(cases):
    from lstm_conformance.spec.materialize import materialize
    problem = materialize(cases["random/t5b3i4h7/bias/given-state"], "float32")
    grads = NumpyAdapter().prepare_training(problem)()
    assert {"x", "h0", "c0", "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"} <= set(grads)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert np.abs(grads["x"]).sum() > 0
