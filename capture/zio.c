/* SPDX-License-Identifier: MIT */
/* Transparent decompression through fopencookie(3): the decompressor is the read function
 * of a FILE, so libpcap and the pcapng reader read compressed files like plain ones. Plain
 * regular files bypass all of this and are handed over as they are. */
#define _GNU_SOURCE
#include "zio.h"

#include "../common/err.h"

#include <errno.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

enum zkind { Z_PLAIN_STREAM, Z_GZIP, Z_XZ, Z_LZ4, Z_ZSTD };

#define ZIN_SIZE (256 * 1024)

struct zio {
    enum zkind kind;
    FILE *raw;
    bool raw_eof;
    uint64_t raw_pos;
    uint8_t peek[8]; /* raw bytes read for detection, served first */
    size_t npeek, peek_off;
    uint8_t opeek[4]; /* decompressed bytes read for the caller's magic, served first */
    size_t nopeek, opeek_off;
    uint8_t *in;
    size_t in_len, in_off;
    bool started, done;
    char err[160];
    z_stream gz;
    lzma_stream xz;
    LZ4F_dctx *lz4;
    ZSTD_DStream *zs;
};

static size_t raw_read(struct zio *z, uint8_t *buf, size_t n)
{
    size_t got = 0;

    if (z->peek_off < z->npeek) {
        size_t k = z->npeek - z->peek_off;
        if (k > n)
            k = n;
        memcpy(buf, z->peek + z->peek_off, k);
        z->peek_off += k;
        got = k;
    }
    if (got < n && !z->raw_eof) {
        size_t k = fread(buf + got, 1, n - got, z->raw);
        if (k < n - got)
            z->raw_eof = true;
        got += k;
    }
    z->raw_pos += got;
    return got;
}

/* Refills the input buffer when it is empty; false at end of raw input. */
static bool fill_in(struct zio *z)
{
    if (z->in_off < z->in_len)
        return true;
    z->in_off = 0;
    z->in_len = raw_read(z, z->in, ZIN_SIZE);
    return z->in_len > 0;
}

static void set_err(struct zio *z, const char *msg)
{
    if (!z->err[0])
        snprintf(z->err, sizeof(z->err), "%s", msg);
    errno = EIO;
}

/* Decompresses up to n bytes into buf; returns bytes produced, 0 at the end, -1 on error. */
static ssize_t decompress(struct zio *z, uint8_t *buf, size_t n)
{
    size_t out = 0;

    if (z->kind == Z_PLAIN_STREAM)
        return (ssize_t)raw_read(z, buf, n);
    while (out < n && !z->done) {
        bool more = fill_in(z);
        const uint8_t *src = z->in + z->in_off;
        size_t avail = z->in_len - z->in_off;

        if (!more) {
            /* Input is over; a decoder that is not at a frame boundary was cut short. */
            if (z->kind == Z_XZ) {
                lzma_ret lr;
                z->xz.next_in = NULL;
                z->xz.avail_in = 0;
                z->xz.next_out = buf + out;
                z->xz.avail_out = n - out;
                lr = lzma_code(&z->xz, LZMA_FINISH);
                out = n - z->xz.avail_out;
                if (lr == LZMA_STREAM_END) {
                    z->done = true;
                    break;
                }
                if (lr != LZMA_OK) {
                    set_err(z, "xz stream is truncated or corrupt");
                    return out ? (ssize_t)out : -1;
                }
                continue;
            }
            if (z->started) {
                set_err(z, "compressed stream is truncated");
                return out ? (ssize_t)out : -1;
            }
            z->done = true;
            break;
        }
        switch (z->kind) {
        case Z_GZIP: {
            int zr;
            z->gz.next_in = (Bytef *)(uintptr_t)src;
            z->gz.avail_in = (uInt)avail;
            z->gz.next_out = buf + out;
            z->gz.avail_out = (uInt)(n - out);
            zr = inflate(&z->gz, Z_NO_FLUSH);
            z->in_off = z->in_len - z->gz.avail_in;
            out = n - z->gz.avail_out;
            z->started = true;
            if (zr == Z_STREAM_END) {
                /* Concatenated members (gzip -c a b > c) continue after a reset. */
                inflateReset(&z->gz);
                z->started = false;
            } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
                set_err(z, "gzip data is corrupt");
                return out ? (ssize_t)out : -1;
            }
            break;
        }
        case Z_XZ: {
            lzma_ret lr;
            z->xz.next_in = src;
            z->xz.avail_in = avail;
            z->xz.next_out = buf + out;
            z->xz.avail_out = n - out;
            lr = lzma_code(&z->xz, LZMA_RUN);
            z->in_off = z->in_len - z->xz.avail_in;
            out = n - z->xz.avail_out;
            z->started = true;
            if (lr == LZMA_STREAM_END) {
                z->done = true;
            } else if (lr != LZMA_OK) {
                set_err(z, "xz data is corrupt");
                return out ? (ssize_t)out : -1;
            }
            break;
        }
        case Z_LZ4: {
            size_t dst = n - out, srcn = avail;
            size_t hint = LZ4F_decompress(z->lz4, buf + out, &dst, src, &srcn, NULL);
            if (LZ4F_isError(hint)) {
                set_err(z, "lz4 data is corrupt");
                return out ? (ssize_t)out : -1;
            }
            z->in_off += srcn;
            out += dst;
            z->started = hint != 0; /* 0: a frame ended exactly here */
            break;
        }
        case Z_ZSTD: {
            ZSTD_inBuffer ib = {src, avail, 0};
            ZSTD_outBuffer ob = {buf + out, n - out, 0};
            size_t r = ZSTD_decompressStream(z->zs, &ob, &ib);
            if (ZSTD_isError(r)) {
                set_err(z, "zstd data is corrupt");
                return out ? (ssize_t)out : -1;
            }
            z->in_off += ib.pos;
            out += ob.pos;
            z->started = r != 0; /* 0: a frame ended exactly here */
            break;
        }
        case Z_PLAIN_STREAM:
            break;
        }
    }
    return (ssize_t)out;
}

static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
    struct zio *z = cookie;
    size_t got = 0;
    ssize_t r;

    if (z->opeek_off < z->nopeek) {
        size_t k = z->nopeek - z->opeek_off;
        if (k > n)
            k = n;
        memcpy(buf, z->opeek + z->opeek_off, k);
        z->opeek_off += k;
        got = k;
        if (got == n)
            return (ssize_t)got;
    }
    r = decompress(z, (uint8_t *)buf + got, n - got);
    if (r < 0)
        return got ? (ssize_t)got : -1;
    return (ssize_t)got + r;
}

static int cookie_close(void *cookie)
{
    struct zio *z = cookie;

    switch (z->kind) {
    case Z_GZIP:
        inflateEnd(&z->gz);
        break;
    case Z_XZ:
        lzma_end(&z->xz);
        break;
    case Z_LZ4:
        LZ4F_freeDecompressionContext(z->lz4);
        break;
    case Z_ZSTD:
        ZSTD_freeDStream(z->zs);
        break;
    case Z_PLAIN_STREAM:
        break;
    }
    if (z->raw && z->raw != stdin)
        fclose(z->raw);
    free(z->in);
    /* struct zio itself is freed by zio_close (its error text outlives the FILE) */
    return 0;
}

static enum zkind detect(const uint8_t *b, size_t n)
{
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return Z_GZIP;
    if (n >= 6 && memcmp(b,
                         "\xfd"
                         "7zXZ\0",
                         6) == 0)
        return Z_XZ;
    if (n >= 4 && b[0] == 0x04 && b[1] == 0x22 && b[2] == 0x4d && b[3] == 0x18)
        return Z_LZ4;
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
        return Z_ZSTD;
    return Z_PLAIN_STREAM;
}

static const char *kind_name(enum zkind k)
{
    static const char *const names[] = {"none", "gzip", "xz", "lz4", "zstd"};
    return names[k];
}

int zio_open(const char *path, struct zio_file *out, char *err, size_t errlen)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *raw = is_stdin ? stdin : fopen(path, "rb");
    struct stat sb;
    uint8_t head[8];
    size_t nhead;
    enum zkind kind;
    struct zio *z = NULL;
    cookie_io_functions_t io = {.read = cookie_read, .close = cookie_close};

    memset(out, 0, sizeof(*out));
    if (!raw) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return ERR_IO;
    }
    if (fstat(fileno(raw), &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            snprintf(err, errlen, "%s: is a directory", path);
            fclose(raw);
            return ERR_IO;
        }
        if (S_ISREG(sb.st_mode))
            out->raw_size = (uint64_t)sb.st_size;
    }
    nhead = fread(head, 1, sizeof(head), raw);
    if (ferror(raw)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        if (!is_stdin)
            fclose(raw);
        return ERR_IO;
    }
    kind = detect(head, nhead);
    out->compression = kind_name(kind);
    if (kind == Z_PLAIN_STREAM && !is_stdin && S_ISREG(sb.st_mode) &&
        fseek(raw, 0, SEEK_SET) == 0) {
        /* Plain file: no cookie layer, no extra copy. */
        out->fp = raw;
        memcpy(out->magic, head, nhead < 4 ? nhead : 4);
        out->nmagic = nhead < 4 ? nhead : 4;
        return 0;
    }
    z = calloc(1, sizeof(*z));
    if (!z)
        goto nomem;
    z->kind = kind;
    z->raw = raw;
    memcpy(z->peek, head, nhead);
    z->npeek = nhead;
    z->raw_eof = nhead < sizeof(head);
    if (kind != Z_PLAIN_STREAM && !(z->in = malloc(ZIN_SIZE)))
        goto nomem;
    switch (kind) {
    case Z_GZIP:
        if (inflateInit2(&z->gz, 15 + 32) != Z_OK)
            goto nomem;
        break;
    case Z_XZ: {
        lzma_stream init = LZMA_STREAM_INIT;
        z->xz = init;
        if (lzma_stream_decoder(&z->xz, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
            goto nomem;
        break;
    }
    case Z_LZ4:
        if (LZ4F_isError(LZ4F_createDecompressionContext(&z->lz4, LZ4F_VERSION)))
            goto nomem;
        break;
    case Z_ZSTD:
        if (!(z->zs = ZSTD_createDStream()))
            goto nomem;
        ZSTD_initDStream(z->zs);
        break;
    case Z_PLAIN_STREAM:
        break;
    }
    /* Read the first decompressed bytes for the caller, then serve them again. */
    {
        ssize_t got = 0;
        while (got < 4) {
            ssize_t r = decompress(z, z->opeek + got, (size_t)(4 - got));
            if (r <= 0)
                break;
            got += r;
        }
        z->nopeek = (size_t)got;
        memcpy(out->magic, z->opeek, z->nopeek);
        out->nmagic = z->nopeek;
    }
    out->fp = fopencookie(z, "rb", io);
    if (!out->fp) {
        cookie_close(z);
        free(z);
        snprintf(err, errlen, "%s: out of memory", path);
        return ERR_NOMEM;
    }
    out->z = z;
    return 0;

nomem:
    if (z) {
        cookie_close(z);
        free(z);
    } else if (!is_stdin) {
        fclose(raw);
    }
    snprintf(err, errlen, "%s: cannot set up %s decompression", path, kind_name(kind));
    return ERR_NOMEM;
}

uint64_t zio_raw_pos(const struct zio_file *f)
{
    long pos;

    if (f->z)
        return f->z->raw_pos;
    if (!f->fp)
        return 0;
    pos = ftell(f->fp);
    return pos < 0 ? 0 : (uint64_t)pos;
}

const char *zio_error(const struct zio_file *f)
{
    return f->z && f->z->err[0] ? f->z->err : NULL;
}

void zio_close(struct zio_file *f)
{
    /* libpcap may already have closed fp (pcap_close); callers clear fp in that case. */
    if (f->fp)
        fclose(f->fp);
    free(f->z);
    f->fp = NULL;
    f->z = NULL;
}
