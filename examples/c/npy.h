/* A minimal reader and writer of NumPy .npy files (format versions 1, 2 and 3): C-order,
   little-endian float64 ('<f8'), float32 ('<f4') and int64 ('<i8') arrays, as
   `lstm-conformance export` writes them. Plain C99; assumes a little-endian machine. */
#ifndef NPY_H
#define NPY_H

#include <stddef.h>

#define NPY_MAX_DIMS 8

struct npy_array {
    char descr[8];              /* "<f8", "<f4" or "<i8" */
    int ndim;
    long shape[NPY_MAX_DIMS];
    size_t count;               /* number of elements: the product of shape */
    size_t item_size;           /* bytes per element */
    void *data;                 /* count * item_size bytes, C order; free with npy_free */
};

/* Reads `path` into `out`; 0 on success, else -1 with a message in `error` (error_size bytes). */
int npy_read(const char *path, struct npy_array *out, char *error, size_t error_size);

/* Writes `count` elements of `descr` ("<f8", "<f4") with the given shape; 0 on success. */
int npy_write(const char *path, const char *descr, int ndim, const long *shape, const void *data);

void npy_free(struct npy_array *array);

#endif
