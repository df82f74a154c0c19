/* SPDX-License-Identifier: MIT */
/* DNS names and numbers, once for every layer: RR types, classes, RCODEs (header, EDNS and
 * TSIG), opcodes, and their mnemonics. The decoder, the rules, the store, the report, the
 * view and the metrics use these; no other file spells a raw type or RCODE number or keeps a
 * table of their names. IANA "Domain Name System (DNS) Parameters" is the reference. */
#ifndef DV_COMMON_DNSNUM_H
#define DV_COMMON_DNSNUM_H

#include <stdbool.h>
#include <stddef.h>

/* RR types (RFC 1035 3.2.2 and later registrations) and the QTYPE-only values. */
enum dns_type {
    DNS_T_A = 1,
    DNS_T_NS = 2,
    DNS_T_CNAME = 5,
    DNS_T_SOA = 6,
    DNS_T_NULL = 10,
    DNS_T_PTR = 12,
    DNS_T_HINFO = 13,
    DNS_T_MX = 15,
    DNS_T_TXT = 16,
    DNS_T_AAAA = 28,
    DNS_T_SRV = 33,
    DNS_T_NAPTR = 35,
    DNS_T_DNAME = 39,
    DNS_T_OPT = 41,
    DNS_T_DS = 43,
    DNS_T_RRSIG = 46,
    DNS_T_NSEC = 47,
    DNS_T_DNSKEY = 48,
    DNS_T_NSEC3 = 50,
    DNS_T_SVCB = 64,
    DNS_T_HTTPS = 65,
    DNS_T_TKEY = 249,
    DNS_T_TSIG = 250,
    DNS_T_IXFR = 251,
    DNS_T_AXFR = 252,
    DNS_T_ANY = 255,
    DNS_T_CAA = 257,
};

/* Classes (RFC 1035 3.2.4, RFC 2136 for NONE). */
enum dns_class {
    DNS_C_IN = 1,
    DNS_C_CH = 3,
    DNS_C_HS = 4,
    DNS_C_NONE = 254,
    DNS_C_ANY = 255,
};

/* RCODEs: 0-15 in the header, 16 and up extended by OPT (RFC 6891 6.1.3) or in the TSIG
 * error field (RFC 8945 5.3.2), where 16 is BADSIG instead of BADVERS. */
enum dns_rcode {
    DNS_R_NOERROR = 0,
    DNS_R_FORMERR = 1,
    DNS_R_SERVFAIL = 2,
    DNS_R_NXDOMAIN = 3,
    DNS_R_NOTIMP = 4,
    DNS_R_REFUSED = 5,
    DNS_R_YXDOMAIN = 6,
    DNS_R_YXRRSET = 7,
    DNS_R_NXRRSET = 8,
    DNS_R_NOTAUTH = 9,
    DNS_R_NOTZONE = 10,
    DNS_R_BADVERS = 16,
    DNS_R_BADSIG = 16, /* TSIG error field */
    DNS_R_BADKEY = 17,
    DNS_R_BADTIME = 18,
    DNS_R_BADCOOKIE = 23,
};

/* Opcodes (RFC 1035 4.1.1, RFC 1996 NOTIFY, RFC 2136 UPDATE, RFC 8490 DSO). */
enum dns_opcode {
    DNS_OP_QUERY = 0,
    DNS_OP_IQUERY = 1,
    DNS_OP_STATUS = 2,
    DNS_OP_NOTIFY = 4,
    DNS_OP_UPDATE = 5,
    DNS_OP_DSO = 6,
};

/* True for the zone transfer QTYPEs (AXFR, IXFR). */
static inline bool dns_is_xfr(unsigned qtype)
{
    return qtype == DNS_T_AXFR || qtype == DNS_T_IXFR;
}

/* Mnemonic of an RCODE ("NOERROR", "BADVERS"...); NULL if it has none. */
const char *dns_rcode_name(unsigned rcode);
/* Mnemonic of a TSIG error (RFC 8945: "BADSIG", "BADKEY", "BADTIME"...); NULL if none. */
const char *dns_tsig_error_name(unsigned err);
/* Mnemonic of an opcode ("QUERY", "NOTIFY"...); NULL if it has none. */
const char *dns_opcode_name(unsigned opcode);
/* Mnemonic of a class ("IN", "CH"...); NULL if it has none. */
const char *dns_class_name(unsigned qclass);

/* The RCODE whose mnemonic is name (any case); -1 if none. */
int dns_rcode_parse(const char *name);

/* Writes the mnemonic of an RR type or QTYPE ("A", "AXFR"; ldns's table, the reference for
 * presentation) into buf, or TYPEnnn (RFC 3597) when it has none. */
void dns_type_str(unsigned type, char *buf, size_t bufsz);
/* Writes the RCODE mnemonic, or RCODEnnn, into buf. */
void dns_rcode_str(unsigned rcode, char *buf, size_t bufsz);

#endif
