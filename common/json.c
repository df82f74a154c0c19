/* SPDX-License-Identifier: MIT */
/* Streaming JSON writer. Strings are escaped per RFC 8259 7; bytes that are not valid
 * UTF-8 are written as \u00XX so the output is always valid JSON. */
#include "json.h"

#include <math.h>

void json_init(struct json *j, FILE *f, bool compact)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = true;
    j->compact = compact;
}

static void indent(struct json *j)
{
    if (j->compact)
        return;
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

static void write_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    for (; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c < 0x20 || c >= 0x7f) {
            /* Control bytes and anything non-ASCII: escaped, so the output never carries
             * invalid UTF-8 from wire data. */
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

static void key_prefix(struct json *j, const char *key)
{
    if (j->depth > 0) {
        if (!j->first[j->depth])
            fputc(',', j->f);
        indent(j);
    }
    j->first[j->depth] = false;
    if (key) {
        write_str(j->f, key);
        fputs(j->compact ? ":" : ": ", j->f);
    }
}

static void open(struct json *j, const char *key, char c)
{
    key_prefix(j, key);
    fputc(c, j->f);
    if (j->depth + 1 < JSON_MAX_DEPTH)
        j->depth++;
    j->first[j->depth] = true;
}

static void close_(struct json *j, char c)
{
    bool empty = j->first[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (!empty)
        indent(j);
    fputc(c, j->f);
}

void json_obj_begin(struct json *j, const char *key)
{
    open(j, key, '{');
}

void json_obj_end(struct json *j)
{
    close_(j, '}');
}

void json_arr_begin(struct json *j, const char *key)
{
    open(j, key, '[');
}

void json_arr_end(struct json *j)
{
    close_(j, ']');
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
    key_prefix(j, key);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
    key_prefix(j, key);
    fprintf(j->f, "%lld", (long long)v);
}

void json_double(struct json *j, const char *key, double v, int decimals)
{
    key_prefix(j, key);
    if (!isfinite(v))
        fputs("null", j->f);
    else
        fprintf(j->f, "%.*f", decimals, v);
}

void json_str(struct json *j, const char *key, const char *s)
{
    key_prefix(j, key);
    write_str(j->f, s ? s : "");
}

void json_bool(struct json *j, const char *key, bool v)
{
    key_prefix(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
    key_prefix(j, key);
    fputs("null", j->f);
}

void json_raw(struct json *j, const char *key, const char *text)
{
    key_prefix(j, key);
    fputs(text, j->f);
}

void json_finish(struct json *j)
{
    fputc('\n', j->f);
}
