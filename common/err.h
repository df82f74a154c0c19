/* SPDX-License-Identifier: MIT */
/* Error codes shared by every layer. Status-returning functions return 0 on success or a
 * negative value from enum err; err_str() names it. Malformed traffic is never an error:
 * decoders count it and carry on (STYLE.md section 3). */
#ifndef DV_COMMON_ERR_H
#define DV_COMMON_ERR_H

enum err {
    ERR_OK = 0,
    ERR_NOMEM = -1,   /* allocation failed */
    ERR_INVAL = -2,   /* bad argument or configuration */
    ERR_IO = -3,      /* read/write/open failed (errno kept by the caller) */
    ERR_FULL = -4,    /* a bounded table is full */
    ERR_PCAP = -5,    /* libpcap reported an error */
    ERR_FORMAT = -6,  /* input file is not in a format we read */
    ERR_TRUNC = -7,   /* input file ends in the middle of a record */
    ERR_EOF = -8,     /* end of input (not an error for callers that expect it) */
    ERR_DB = -9,      /* SQLite error */
    ERR_UNSUPP = -10, /* valid input we do not handle */
};

/* Returns a static, human-readable name for an enum err value (never NULL). */
const char *err_str(int err);

#endif
