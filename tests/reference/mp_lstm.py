"""An independent LSTM forward pass in mpmath (50 significant digits), element by element.

It shares no code with reference/forward.py: the equations are written again from the ONNX
and PyTorch texts, with scalar loops, so that a slip in the float64 reference (an order of
operations, a layout, a clip in the wrong place) shows as a difference far above float64
rounding. Slow on purpose; only for tiny problems.
"""
from __future__ import annotations

import mpmath
import numpy as np

DIGITS = 50


def mp_activation(act, z):
    """ONNX's formula for `act` at the mpf z (defaults as in the ONNX operators)."""
    name, alpha, beta = act.name, act.alpha, act.beta
    one = mpmath.mpf(1)
    if name == "identity":
        return z
    if name == "tanh":
        return (one - mpmath.exp(-2 * z)) / (one + mpmath.exp(-2 * z))
    if name == "sigmoid":
        return one / (one + mpmath.exp(-z))
    if name == "relu":
        return max(mpmath.mpf(0), z)
    if name == "affine":
        return mpmath.mpf(1.0 if alpha is None else alpha) * z + mpmath.mpf(0.0 if beta is None else beta)
    if name == "leaky_relu":
        return z if z >= 0 else mpmath.mpf(0.01 if alpha is None else alpha) * z
    if name == "thresholded_relu":
        return z if z >= mpmath.mpf(1.0 if alpha is None else alpha) else mpmath.mpf(0)
    if name == "scaled_tanh":
        return mpmath.mpf(alpha) * mpmath.tanh(mpmath.mpf(beta) * z)
    if name == "hard_sigmoid":
        a = mpmath.mpf(0.2 if alpha is None else alpha)
        b = mpmath.mpf(0.5 if beta is None else beta)
        return min(max(a * z + b, mpmath.mpf(0)), one)
    if name == "elu":
        return z if z >= 0 else mpmath.mpf(1.0 if alpha is None else alpha) * (mpmath.exp(z) - 1)
    if name == "softsign":
        return z / (one + abs(z))
    if name == "softplus":
        return mpmath.log(one + mpmath.exp(z))
    raise ValueError(f"mp_lstm: no formula for activation {name!r}")


def _mp(array):
    return np.vectorize(mpmath.mpf, otypes=[object])(np.asarray(array, dtype=np.float64))


def mp_lstm_forward(config, x, params, h0=None, c0=None, lengths=None) -> dict:
    """{"y", "h_n", "c_n", "c"} as object arrays of mpf, in the layout of the inputs."""
    with mpmath.workdps(DIGITS):
        return _forward(config, x, params, h0, c0, lengths)


def _forward(config, x, params, h0, c0, lengths):
    H, P = config.hidden_size, config.output_size
    L, D = config.num_layers, config.num_directions
    x = np.asarray(x, dtype=np.float64)
    if config.unbatched:
        seqs = [x]  # one row
    elif config.batch_first:
        seqs = [x[b] for b in range(x.shape[0])]
    else:
        seqs = [x[:, b] for b in range(x.shape[1])]
    B, T = len(seqs), x.shape[0] if not config.batch_first or config.unbatched else x.shape[1]
    lengths = [T] * B if lengths is None else [int(n) for n in lengths]

    def state(value, b, index, width):
        if value is None:
            return [mpmath.mpf(0)] * width
        row = np.asarray(value)[index] if config.unbatched else np.asarray(value)[index, b]
        return [mpmath.mpf(float(v)) for v in row]

    clip = None if config.cell_clip is None else mpmath.mpf(config.cell_clip)

    def bound(z):
        return z if clip is None else min(max(z, -clip), clip)

    def limit(z, value):  # TF's clip_by_value(z, -value, value); value None: no clip
        return z if value is None else min(max(z, -mpmath.mpf(value)), mpmath.mpf(value))

    def normalised(zs):  # TFLite's MeanStddevNormalization of one gate block over its H units
        mean = mpmath.fsum(zs) / len(zs)
        var = mpmath.fsum((z - mean) ** 2 for z in zs) / len(zs)
        return [(z - mean) / mpmath.sqrt(var + mpmath.mpf(1e-8)) for z in zs]

    zero = mpmath.mpf(0)  # y and c stay zero at steps past a row's length
    y = np.full((B, T, D * P), zero, dtype=object)
    cells = np.full((B, T, D * H), zero, dtype=object)
    h_n = np.full((L * D, B, P), zero, dtype=object)
    c_n = np.full((L * D, B, H), zero, dtype=object)
    for b in range(B):
        n = lengths[b]
        layer_in = [[mpmath.mpf(float(v)) for v in seqs[b][t]] for t in range(n)]  # valid steps only
        for layer in range(L):
            layer_out = [[None] * (D * P) for _ in range(n)]
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                W, R = _mp(params["weight_ih" + sfx]), _mp(params["weight_hh" + sfx])
                bias = (_mp(params["bias_ih" + sfx]) + _mp(params["bias_hh" + sfx])) if config.bias else None
                peep = _mp(params["peephole" + sfx]) if config.peepholes else None
                Whr = _mp(params["weight_hr" + sfx]) if config.proj_size else None
                gamma = _mp(params["layer_norm" + sfx]) if config.layer_norm else None
                index = layer * D + d
                h, c = state(h0, b, index, P), state(c0, b, index, H)
                sigma, phi, psi = config.direction_activations(d)  # SPEC §4: each direction its own
                # a reverse direction reads the row's valid steps backwards from its last one
                for t in (range(n - 1, -1, -1) if config.runs_reverse(d) else range(n)):
                    xt = layer_in[t]
                    pre = []
                    for k in range(4 * H):
                        acc = mpmath.fsum(W[k, j] * xt[j] for j in range(len(xt)))
                        acc += mpmath.fsum(R[k, j] * h[j] for j in range(P))
                        # layer_norm (TFLite): the bias is added after the normalisation
                        pre.append(acc + bias[k] if (bias is not None and gamma is None) else acc)
                    if peep is not None:
                        for u in range(H):
                            pre[u] += peep[0, u] * c[u]
                            pre[H + u] += peep[1, u] * c[u]

                    def norm_block(k, zs):  # normalise(zs) ⊙ γ_k + b_k
                        out = normalised(zs)
                        return [out[u] * gamma[k, u] + (bias[k * H + u] if bias is not None else 0)
                                for u in range(H)]
                    if gamma is not None:
                        for k in range(3):
                            pre[k * H:(k + 1) * H] = norm_block(k, pre[k * H:(k + 1) * H])
                    c_new, r = [], []
                    for u in range(H):
                        zi, zf, zg = pre[u], pre[H + u], pre[2 * H + u]
                        zf += mpmath.mpf(config.forget_bias)
                        ig = mp_activation(sigma, bound(zi))
                        fg = 1 - ig if config.input_forget else mp_activation(sigma, bound(zf))
                        gg = mp_activation(phi, bound(zg))
                        c_new.append(limit(fg * c[u] + ig * gg, config.state_clip))  # TF1 cell_clip
                    zo = list(pre[3 * H:])
                    if peep is not None:  # o sees c' (ONNX) or the state entering the step (WebNN)
                        for u in range(H):
                            zo[u] += peep[2, u] * (c[u] if config.peephole_output_state == "previous" else c_new[u])
                    if gamma is not None:
                        zo = norm_block(3, zo)
                    for u in range(H):
                        r.append(mp_activation(sigma, bound(zo[u])) * mp_activation(psi, bound(c_new[u])))
                    if Whr is not None:
                        h = [limit(mpmath.fsum(Whr[q, u] * r[u] for u in range(H)), config.proj_clip)
                             for q in range(P)]
                    else:
                        h = r
                    c = c_new
                    layer_out[t][d * P:(d + 1) * P] = h
                    if layer == L - 1:
                        cells[b, t, d * H:(d + 1) * H] = c
                h_n[index, b], c_n[index, b] = h, c
            layer_in = layer_out
        for t in range(n):
            y[b, t] = layer_in[t]
        if config.padding == "carry":  # Keras: a masked step repeats the previous output (zero before any)
            for t in range(n, T):
                for d in range(D):
                    if not config.runs_reverse(d):  # a reverse direction meets the padding first: zeros
                        y[b, t, d * P:(d + 1) * P] = y[b, n - 1, d * P:(d + 1) * P]
                        cells[b, t, d * H:(d + 1) * H] = cells[b, n - 1, d * H:(d + 1) * H]
    if config.unbatched:
        return {"y": y[0], "h_n": h_n[:, 0], "c_n": c_n[:, 0], "c": cells[0]}
    if config.batch_first:
        return {"y": y, "h_n": h_n, "c_n": c_n, "c": cells}
    return {"y": y.transpose(1, 0, 2), "h_n": h_n, "c_n": c_n, "c": cells.transpose(1, 0, 2)}


def ulp_error(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|got − exact| in units of the float64 spacing at exact, elementwise (float64 result)."""
    with mpmath.workdps(DIGITS):
        exact_f = np.array([float(v) for v in exact.ravel()]).reshape(exact.shape)
        diff = np.array([float(abs(mpmath.mpf(float(g)) - e)) for g, e in zip(np.ravel(got), exact.ravel())])
    return diff.reshape(exact.shape) / np.spacing(np.abs(exact_f))
