/* See npy.h. The .npy format: the magic string "\x93NUMPY", a major and a minor version byte,
   the header length (2 bytes little-endian in version 1, 4 bytes in versions 2 and 3), then
   the header, a Python dict literal such as
       {'descr': '<f4', 'fortran_order': False, 'shape': (9, 1, 4), }
   padded with spaces to a multiple of 64 bytes and ended by '\n', then the raw data. */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *error, size_t size, const char *path, const char *what)
{
    snprintf(error, size, "%s: %s", path, what);
    return -1;
}

static int parse_header(const char *header, struct npy_array *out)
{
    const char *descr = strstr(header, "'descr'");
    const char *order = strstr(header, "'fortran_order'");
    const char *shape = strstr(header, "'shape'");
    if (!descr || !order || !shape)
        return -1;
    descr = strchr(descr + 7, '\'');
    if (!descr || sscanf(descr + 1, "%7[^']", out->descr) != 1)
        return -1;
    if (!strstr(order, "False"))
        return -2;                              /* Fortran order: not supported */
    shape = strchr(shape, '(');
    if (!shape)
        return -1;
    out->ndim = 0;
    out->count = 1;
    for (const char *p = shape + 1; *p && *p != ')';) {
        char *end;
        long n = strtol(p, &end, 10);
        if (end == p) {                         /* a comma or a space */
            p++;
            continue;
        }
        if (out->ndim == NPY_MAX_DIMS || n < 0)
            return -1;
        out->shape[out->ndim++] = n;
        out->count *= (size_t)n;
        p = end;
    }
    return 0;
}

int npy_read(const char *path, struct npy_array *out, char *error, size_t error_size)
{
    unsigned char start[10];
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(error, error_size, path, "cannot open");
    if (fread(start, 1, 8, f) != 8 || memcmp(start, "\x93NUMPY", 6) != 0) {
        fclose(f);
        return fail(error, error_size, path, "not a .npy file");
    }
    size_t header_len;
    if (start[6] == 1) {
        if (fread(start + 8, 1, 2, f) != 2) {
            fclose(f);
            return fail(error, error_size, path, "truncated header");
        }
        header_len = (size_t)start[8] | (size_t)start[9] << 8;
    } else {
        unsigned char n[4];
        if (fread(n, 1, 4, f) != 4) {
            fclose(f);
            return fail(error, error_size, path, "truncated header");
        }
        header_len = (size_t)n[0] | (size_t)n[1] << 8 | (size_t)n[2] << 16 | (size_t)n[3] << 24;
    }
    char *header = malloc(header_len + 1);
    if (!header || fread(header, 1, header_len, f) != header_len) {
        free(header);
        fclose(f);
        return fail(error, error_size, path, "truncated header");
    }
    header[header_len] = '\0';
    int parsed = parse_header(header, out);
    free(header);
    if (parsed != 0) {
        fclose(f);
        return fail(error, error_size, path, parsed == -2 ? "Fortran order is not supported" : "bad header");
    }
    if (strcmp(out->descr, "<f8") == 0 || strcmp(out->descr, "<i8") == 0)
        out->item_size = 8;
    else if (strcmp(out->descr, "<f4") == 0)
        out->item_size = 4;
    else {
        fclose(f);
        return fail(error, error_size, path, "dtype is not <f8, <f4 or <i8");
    }
    out->data = malloc(out->count ? out->count * out->item_size : 1);
    if (!out->data || fread(out->data, out->item_size, out->count, f) != out->count) {
        fclose(f);
        npy_free(out);
        return fail(error, error_size, path, "truncated data");
    }
    fclose(f);
    return 0;
}

int npy_write(const char *path, const char *descr, int ndim, const long *shape, const void *data)
{
    char header[512];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    size_t count = 1;
    for (int k = 0; k < ndim; k++) {
        n += snprintf(header + n, sizeof header - (size_t)n, "%ld,%s", shape[k], k + 1 < ndim ? " " : "");
        count *= (size_t)shape[k];
    }
    if (ndim > 1)
        n--;                                    /* (3, 4) but (3,) */
    n += snprintf(header + n, sizeof header - (size_t)n, "), }");
    while ((10 + n + 1) % 64 != 0)              /* magic, version, length, header, '\n' */
        header[n++] = ' ';
    header[n++] = '\n';
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char start[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff),
                               (unsigned char)(n >> 8)};
    size_t item = strcmp(descr, "<f4") == 0 ? 4 : 8;
    int ok = fwrite(start, 1, 10, f) == 10 && fwrite(header, 1, (size_t)n, f) == (size_t)n
             && fwrite(data, item, count, f) == count;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

void npy_free(struct npy_array *array)
{
    free(array->data);
    array->data = NULL;
}
