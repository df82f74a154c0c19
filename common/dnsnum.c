/* SPDX-License-Identifier: MIT */
/* The mnemonic tables behind dnsnum.h. RR type names come from ldns's descriptor table (the
 * presentation reference the store and the summaries share); the others are short IANA
 * registries kept here. */
#include "dnsnum.h"

#include <ldns/ldns.h>
#include <stdio.h>
#include <strings.h>

static const char *const rcode_names[] = {
    [DNS_R_NOERROR] = "NOERROR",
    [DNS_R_FORMERR] = "FORMERR",
    [DNS_R_SERVFAIL] = "SERVFAIL",
    [DNS_R_NXDOMAIN] = "NXDOMAIN",
    [DNS_R_NOTIMP] = "NOTIMP",
    [DNS_R_REFUSED] = "REFUSED",
    [DNS_R_YXDOMAIN] = "YXDOMAIN",
    [DNS_R_YXRRSET] = "YXRRSET",
    [DNS_R_NXRRSET] = "NXRRSET",
    [DNS_R_NOTAUTH] = "NOTAUTH",
    [DNS_R_NOTZONE] = "NOTZONE",
    [11] = "DSOTYPENI",
    [DNS_R_BADVERS] = "BADVERS",
    [DNS_R_BADKEY] = "BADKEY",
    [DNS_R_BADTIME] = "BADTIME",
    [19] = "BADMODE",
    [20] = "BADNAME",
    [21] = "BADALG",
    [22] = "BADTRUNC",
    [DNS_R_BADCOOKIE] = "BADCOOKIE",
};

const char *dns_rcode_name(unsigned rcode)
{
    return rcode < sizeof(rcode_names) / sizeof(rcode_names[0]) ? rcode_names[rcode] : NULL;
}

const char *dns_tsig_error_name(unsigned err)
{
    if (err == DNS_R_BADSIG)
        return "BADSIG";
    return err > DNS_R_BADSIG ? dns_rcode_name(err) : NULL;
}

const char *dns_opcode_name(unsigned opcode)
{
    static const char *const names[] = {
        [DNS_OP_QUERY] = "QUERY",   [DNS_OP_IQUERY] = "IQUERY", [DNS_OP_STATUS] = "STATUS",
        [DNS_OP_NOTIFY] = "NOTIFY", [DNS_OP_UPDATE] = "UPDATE", [DNS_OP_DSO] = "DSO",
    };
    return opcode < sizeof(names) / sizeof(names[0]) ? names[opcode] : NULL;
}

const char *dns_class_name(unsigned qclass)
{
    switch (qclass) {
    case DNS_C_IN:
        return "IN";
    case DNS_C_CH:
        return "CH";
    case DNS_C_HS:
        return "HS";
    case DNS_C_NONE:
        return "NONE";
    case DNS_C_ANY:
        return "ANY";
    default:
        return NULL;
    }
}

int dns_rcode_parse(const char *name)
{
    for (unsigned i = 0; i < sizeof(rcode_names) / sizeof(rcode_names[0]); i++)
        if (rcode_names[i] && !strcasecmp(rcode_names[i], name))
            return (int)i;
    return -1;
}

void dns_type_str(unsigned type, char *buf, size_t bufsz)
{
    const ldns_rr_descriptor *d = ldns_rr_descript((uint16_t)type);

    if (d && d->_name && d->_type == type)
        snprintf(buf, bufsz, "%s", d->_name);
    else if (type == DNS_T_IXFR)
        snprintf(buf, bufsz, "IXFR");
    else if (type == DNS_T_AXFR)
        snprintf(buf, bufsz, "AXFR");
    else if (type == DNS_T_ANY)
        snprintf(buf, bufsz, "ANY");
    else
        snprintf(buf, bufsz, "TYPE%u", type);
}

void dns_rcode_str(unsigned rcode, char *buf, size_t bufsz)
{
    const char *n = dns_rcode_name(rcode);
    if (n)
        snprintf(buf, bufsz, "%s", n);
    else
        snprintf(buf, bufsz, "RCODE%u", rcode);
}
