/* SPDX-License-Identifier: MIT */
/* Names for enum err values. */
#include "err.h"

const char *err_str(int err)
{
    switch (err) {
    case ERR_OK:
        return "success";
    case ERR_NOMEM:
        return "out of memory";
    case ERR_INVAL:
        return "invalid argument";
    case ERR_IO:
        return "input/output error";
    case ERR_FULL:
        return "table full";
    case ERR_PCAP:
        return "libpcap error";
    case ERR_FORMAT:
        return "unknown file format";
    case ERR_TRUNC:
        return "truncated input";
    case ERR_EOF:
        return "end of input";
    case ERR_DB:
        return "database error";
    case ERR_UNSUPP:
        return "unsupported";
    default:
        return "unknown error";
    }
}
