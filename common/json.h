/* SPDX-License-Identifier: MIT */
/* A small streaming JSON writer (RFC 8259): objects, arrays, strings with escaping,
 * integers and fixed-point numbers, pretty-printed with two-space indentation. */
#ifndef DV_COMMON_JSON_H
#define DV_COMMON_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
    FILE *f;
    int depth;
    bool first[JSON_MAX_DEPTH];
    bool compact; /* one line, no spaces (JSON lines) */
};

void json_init(struct json *j, FILE *f, bool compact);

/* key is NULL inside arrays and at the top level. */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_double(struct json *j, const char *key, double v, int decimals);
void json_str(struct json *j, const char *key, const char *s);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);

/* Writes text as the value as it is (the caller guarantees it is valid JSON). */
void json_raw(struct json *j, const char *key, const char *text);

/* Ends the document with a newline. */
void json_finish(struct json *j);

#endif
