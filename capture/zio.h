/* SPDX-License-Identifier: MIT */
/* Opens an input file (or "-" for stdin) as a stdio stream of its decompressed bytes.
 * Compression (gzip, xz, lz4 frame, zstd) is recognised by content, not by name. The first
 * bytes of the decompressed stream are also handed back, so callers can tell formats apart
 * without seeking. Internal to capture/. */
#ifndef DV_CAPTURE_ZIO_H
#define DV_CAPTURE_ZIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct zio;

struct zio_file {
    FILE *fp;                /* decompressed stream, positioned at byte 0 */
    uint8_t magic[4];        /* its first bytes */
    size_t nmagic;           /* how many of them exist (< 4 for tiny files) */
    const char *compression; /* "none", "gzip", "xz", "lz4", "zstd" */
    uint64_t raw_size;       /* size of the file on disk (0 if unknown, e.g. a pipe) */
    struct zio *z;           /* decompressor state (NULL when fp is the plain file) */
};

/* Opens path. On failure returns a negative enum err and writes a message to err. */
int zio_open(const char *path, struct zio_file *out, char *err, size_t errlen);

/* Raw (compressed) bytes consumed so far, for progress. */
uint64_t zio_raw_pos(const struct zio_file *f);

/* Message of the decompressor's last error, or NULL if none. */
const char *zio_error(const struct zio_file *f);

/* Closes the stream and the file. */
void zio_close(struct zio_file *f);

#endif
