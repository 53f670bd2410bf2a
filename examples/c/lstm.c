/* A small LSTM in plain C99, graded by lstm-conformance without Python in the loop:

       lstm-conformance export --out golden
       ./lstm golden outputs            (outputs: an existing folder)
       lstm-conformance grade golden outputs

   For each case listed in golden/cases.txt (or the keys given after OUTPUTS), it reads the
   configuration (golden/<key>/config.txt), decides whether it runs the case, and either
   writes outputs/<key>.y.npy, .h_n.npy and .c_n.npy, or outputs/<key>.unsupported.txt with
   the reason. It runs one forward layer with sigmoid/tanh, with or without biases, initial
   states, lengths, batch_first and forget_bias, in float32 and float64. Build:

       cc -std=c99 -O2 -o lstm lstm.c npy.c -lm
       cc -std=c99 -O2 -DBROKEN_FORGET_GATE -o lstm-broken lstm.c npy.c -lm   (a defect, for the test)
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

#define PATH_SIZE 4096

struct problem {
    char dtype[16];
    int seq_len, batch, input_size, hidden_size;
    int bias, batch_first, has_h0, has_c0, has_lengths;
    double forget_bias;
    struct npy_array x, weight_ih, weight_hh, bias_ih, bias_hh, h0, c0, lengths;
};

/* the LSTM for float and for double (lstm_core.h) */
#define REAL float
#define NAME(f) f##_f32
#define EXP expf
#define TANH tanhf
#include "lstm_core.h"
#undef REAL
#undef NAME
#undef EXP
#undef TANH
#define REAL double
#define NAME(f) f##_f64
#define EXP exp
#define TANH tanh
#include "lstm_core.h"

/* What this implementation runs: every other value of these config.txt keys is unsupported. */
static const char *const REQUIRED[][2] = {
    {"num_layers", "1"}, {"direction", "forward"}, {"proj_size", "0"}, {"peepholes", "0"},
    {"cell_clip", "none"}, {"input_forget", "0"}, {"unbatched", "0"},
    {"activation_gate", "sigmoid"}, {"activation_cell", "tanh"}, {"activation_hidden", "tanh"},
};

/* Reads config.txt into `p`; returns NULL, or why the case is not supported (in `reason`).
   The file must exist (run_case checks). */
static const char *read_config(FILE *f, struct problem *p, char *reason, size_t size)
{
    char line[512], key[128], value[384];
    memset(p, 0, sizeof *p);
    const char *why = NULL;
    while (!why && fgets(line, sizeof line, f)) {
        value[0] = '\0';
        if (sscanf(line, "%127s %383[^\n]", key, value) < 1)
            continue;
        for (size_t k = 0; k < sizeof REQUIRED / sizeof REQUIRED[0]; k++)
            if (strcmp(key, REQUIRED[k][0]) == 0 && strcmp(value, REQUIRED[k][1]) != 0) {
                snprintf(reason, size, "the C example supports only %s %s, not %s", key, REQUIRED[k][1], value);
                why = reason;
            }
        if (strcmp(key, "dtype") == 0) {
            snprintf(p->dtype, sizeof p->dtype, "%s", value);
            if (strcmp(value, "float32") != 0 && strcmp(value, "float64") != 0) {
                snprintf(reason, size, "the C example computes float32 and float64 only, not %s", value);
                why = reason;
            }
        }
        else if (strcmp(key, "seq_len") == 0) p->seq_len = atoi(value);
        else if (strcmp(key, "batch") == 0) p->batch = atoi(value);
        else if (strcmp(key, "input_size") == 0) p->input_size = atoi(value);
        else if (strcmp(key, "hidden_size") == 0) p->hidden_size = atoi(value);
        else if (strcmp(key, "bias") == 0) p->bias = atoi(value);
        else if (strcmp(key, "batch_first") == 0) p->batch_first = atoi(value);
        else if (strcmp(key, "forget_bias") == 0) p->forget_bias = atof(value);
        else if (strcmp(key, "h0") == 0) p->has_h0 = atoi(value);
        else if (strcmp(key, "c0") == 0) p->has_c0 = atoi(value);
        else if (strcmp(key, "lengths") == 0) p->has_lengths = atoi(value);
    }
    return why;
}

/* Reads golden/<key>/<name>.npy, checking its dtype and element count. */
static int load(const char *golden, const char *key, const char *name, const char *descr, size_t count,
                struct npy_array *out)
{
    char path[PATH_SIZE], error[PATH_SIZE + 64];
    snprintf(path, sizeof path, "%s/%s/%s.npy", golden, key, name);
    if (npy_read(path, out, error, sizeof error) != 0) {
        fprintf(stderr, "lstm: %s\n", error);
        return -1;
    }
    if (strcmp(out->descr, descr) != 0 || out->count != count) {
        fprintf(stderr, "lstm: %s: expected %zu elements of %s, got %zu of %s\n", path, count, descr, out->count,
                out->descr);
        return -1;
    }
    return 0;
}

static int load_problem(const char *golden, const char *key, struct problem *p)
{
    const char *real = strcmp(p->dtype, "float32") == 0 ? "<f4" : "<f8";
    size_t T = (size_t)p->seq_len, B = (size_t)p->batch, I = (size_t)p->input_size, H = (size_t)p->hidden_size;
    int bad = load(golden, key, "x", real, T * B * I, &p->x)
              || load(golden, key, "weight_ih_l0", real, 4 * H * I, &p->weight_ih)
              || load(golden, key, "weight_hh_l0", real, 4 * H * H, &p->weight_hh);
    if (!bad && p->bias)
        bad = load(golden, key, "bias_ih_l0", real, 4 * H, &p->bias_ih) || load(golden, key, "bias_hh_l0", real, 4 * H, &p->bias_hh);
    if (!bad && p->has_h0)
        bad = load(golden, key, "h0", real, B * H, &p->h0);
    if (!bad && p->has_c0)
        bad = load(golden, key, "c0", real, B * H, &p->c0);
    if (!bad && p->has_lengths)
        bad = load(golden, key, "lengths", "<i8", B, &p->lengths);
    return bad ? -1 : 0;
}

static void free_problem(struct problem *p)
{
    struct npy_array *arrays[] = {&p->x, &p->weight_ih, &p->weight_hh, &p->bias_ih, &p->bias_hh, &p->h0, &p->c0,
                                  &p->lengths};
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++)
        npy_free(arrays[k]);
}

static int write_output(const char *outputs, const char *key, const char *name, const char *descr, int ndim,
                        const long *shape, const void *data)
{
    char path[PATH_SIZE];
    snprintf(path, sizeof path, "%s/%s.%s.npy", outputs, key, name);
    if (npy_write(path, descr, ndim, shape, data) != 0) {
        fprintf(stderr, "lstm: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* Runs one case: 0 ran, 1 unsupported (the reason written), -1 error. */
static int run_case(const char *golden, const char *outputs, const char *key)
{
    char path[PATH_SIZE], reason[512];
    struct problem p;
    snprintf(path, sizeof path, "%s/%s/config.txt", golden, key);
    FILE *config = fopen(path, "r");
    if (!config) {
        fprintf(stderr, "lstm: cannot read %s\n", path);
        return -1;
    }
    const char *unsupported = read_config(config, &p, reason, sizeof reason);
    fclose(config);
    if (unsupported) {
        snprintf(path, sizeof path, "%s/%s.unsupported.txt", outputs, key);
        FILE *f = fopen(path, "w");
        if (!f)
            return -1;
        fprintf(f, "%s\n", reason);
        return fclose(f) == 0 ? 1 : -1;
    }
    if (load_problem(golden, key, &p) != 0) {
        free_problem(&p);
        return -1;
    }
    const int single = strcmp(p.dtype, "float32") == 0;
    const size_t item = single ? sizeof(float) : sizeof(double);
    const long T = p.seq_len, B = p.batch, H = p.hidden_size;
    void *y = malloc(item * (size_t)(T * B * H) + 1), *h = malloc(item * (size_t)(B * H) + 1);
    void *c = malloc(item * (size_t)(B * H) + 1);
    if (single)
        lstm_forward_f32(&p, y, h, c);
    else
        lstm_forward_f64(&p, y, h, c);
    const long y_shape[3] = {p.batch_first ? B : T, p.batch_first ? T : B, H}, state_shape[3] = {1, B, H};
    const char *descr = single ? "<f4" : "<f8";
    int status = write_output(outputs, key, "y", descr, 3, y_shape, y)
                 || write_output(outputs, key, "h_n", descr, 3, state_shape, h)
                 || write_output(outputs, key, "c_n", descr, 3, state_shape, c) ? -1 : 0;
    free(y);
    free(h);
    free(c);
    free_problem(&p);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s GOLDEN OUTPUTS [KEY...]\n", argv[0]);
        return 2;
    }
    const char *golden = argv[1], *outputs = argv[2];
    char path[PATH_SIZE], key[1024];
    snprintf(path, sizeof path, "%s/implementation.txt", outputs);
    FILE *name = fopen(path, "w");
    if (!name) {
        fprintf(stderr, "lstm: cannot write %s (does the folder exist?)\n", path);
        return 2;
    }
#ifdef BROKEN_FORGET_GATE
    fputs("c-example-broken-forget-gate\n", name);
#else
    fputs("c-example\n", name);
#endif
    fclose(name);

    int ran = 0, unsupported = 0, errors = 0;
    FILE *list = NULL;
    if (argc == 3) {
        snprintf(path, sizeof path, "%s/cases.txt", golden);
        if (!(list = fopen(path, "r"))) {
            fprintf(stderr, "lstm: cannot read %s\n", path);
            return 2;
        }
    }
    for (int k = 3;; k++) {
        if (list) {
            if (!fgets(key, sizeof key, list))
                break;
            key[strcspn(key, "\r\n")] = '\0';
            if (!key[0])
                continue;
        } else if (k < argc) {
            snprintf(key, sizeof key, "%s", argv[k]);
        } else {
            break;
        }
        int status = run_case(golden, outputs, key);
        ran += status == 0;
        unsupported += status == 1;
        if (status < 0) {
            fprintf(stderr, "lstm: %s: failed\n", key);
            errors++;
        }
    }
    if (list)
        fclose(list);
    printf("ran %d cases, %d unsupported, %d errors\n", ran, unsupported, errors);
    return errors ? 1 : 0;
}
