/* The standard LSTM (SPEC.md §2, PyTorch's convention) for one element type. lstm.c includes
   this file twice: with REAL = float (float32 cases are computed in float32) and with
   REAL = double. NAME(f) names the function for that type; EXP and TANH are the matching
   functions of <math.h>.

       i = σ(W_ii x + b_ii + W_hi h + b_hi)      c' = f ⊙ c + i ⊙ g
       f = σ(W_if x + b_if + W_hf h + b_hf)      h' = o ⊙ tanh(c')
       g = tanh(W_ig x + b_ig + W_hg h + b_hg)
       o = σ(W_io x + b_io + W_ho h + b_ho)

   Rows of weight_ih (4H, I), weight_hh (4H, H) and the biases (4H) hold the gate blocks in
   the order i, f, g, o. With lengths, a row's steps past its length give y = 0 and leave its
   state as it was, so h_n and c_n are the state at its last valid step. */

static REAL NAME(sigmoid)(REAL z)
{
    return (REAL)1 / ((REAL)1 + EXP(-z));
}

static void NAME(lstm_forward)(const struct problem *p, REAL *y, REAL *h, REAL *c)
{
    const int T = p->seq_len, B = p->batch, I = p->input_size, H = p->hidden_size;
    const REAL *x = p->x.data, *w_ih = p->weight_ih.data, *w_hh = p->weight_hh.data;
    const REAL *b_ih = p->bias ? p->bias_ih.data : NULL, *b_hh = p->bias ? p->bias_hh.data : NULL;
    const long long *lengths = p->has_lengths ? p->lengths.data : NULL;
    REAL *z = malloc(sizeof(REAL) * 4 * (size_t)H);

    for (int k = 0; k < B * H; k++) {           /* h and c: (B, H), the initial state */
        h[k] = p->has_h0 ? ((const REAL *)p->h0.data)[k] : 0;
        c[k] = p->has_c0 ? ((const REAL *)p->c0.data)[k] : 0;
    }
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            const long step = p->batch_first ? (long)b * T + t : (long)t * B + b;
            REAL *y_t = y + step * H;
            REAL *h_b = h + (long)b * H, *c_b = c + (long)b * H;
            if (lengths && t >= lengths[b]) {   /* padding: y = 0, the state is kept */
                for (int j = 0; j < H; j++)
                    y_t[j] = 0;
                continue;
            }
            const REAL *x_t = x + step * I;
            for (int r = 0; r < 4 * H; r++) {   /* the four pre-activations of row b */
                REAL sum = b_ih ? b_ih[r] + b_hh[r] : 0;
                for (int k = 0; k < I; k++)
                    sum += w_ih[(long)r * I + k] * x_t[k];
                for (int k = 0; k < H; k++)
                    sum += w_hh[(long)r * H + k] * h_b[k];
                z[r] = sum;
            }
            for (int j = 0; j < H; j++) {
                REAL i = NAME(sigmoid)(z[j]);
                REAL f = NAME(sigmoid)(z[H + j] + (REAL)p->forget_bias);
                REAL g = TANH(z[2 * H + j]);
                REAL o = NAME(sigmoid)(z[3 * H + j]);
#ifdef BROKEN_FORGET_GATE
                f = 1;                          /* the deliberate defect: c' = c + i ⊙ g */
#endif
                c_b[j] = f * c_b[j] + i * g;
                y_t[j] = o * TANH(c_b[j]);
            }
            for (int j = 0; j < H; j++)
                h_b[j] = y_t[j];
        }
    }
    free(z);
}
