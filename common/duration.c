/* SPDX-License-Identifier: MIT */
#include "duration.h"

#include <errno.h>
#include <stdlib.h>

bool dv_parse_duration(const char *s, uint64_t *ns)
{
    char *end;
    unsigned long long v;
    uint64_t unit;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || v == 0)
        return false;
    switch (*end) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    case 'w':
        unit = 7 * 86400;
        break;
    default:
        return false;
    }
    if (end[1] || v > UINT64_MAX / 1000000000ull / unit)
        return false;
    *ns = v * unit * 1000000000ull;
    return true;
}
