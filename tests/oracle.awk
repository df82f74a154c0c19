# Counts DNS queries/responses, rcodes and qtypes from tshark field output (one frame per
# line: response flags, rcodes, qtypes, OPT extended rcodes, comma-aggregated when a TCP
# segment carries several messages). Names follow the IANA registries, written out here so
# the oracle shares no table with dnsvigil.
function hex(s,    i, v, d) {
    s = tolower(s); sub(/^0x/, "", s); v = 0
    for (i = 1; i <= length(s); i++) { d = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + d }
    return v
}
function rname(c) { return (c in RC) ? RC[c] : "RCODE" c }
function tname(t) { return (t in QT) ? QT[t] : "TYPE" t }
BEGIN {
    FS = "\t"
    split("NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED YXDOMAIN YXRRSET NXRRSET NOTAUTH NOTZONE DSOTYPENI", a, " ")
    for (i = 1; i <= 12; i++) RC[i - 1] = a[i]
    RC[16] = "BADVERS"; RC[17] = "BADKEY"; RC[18] = "BADTIME"; RC[23] = "BADCOOKIE"
    QT[1] = "A"; QT[2] = "NS"; QT[5] = "CNAME"; QT[6] = "SOA"; QT[12] = "PTR"; QT[13] = "HINFO"
    QT[15] = "MX"; QT[16] = "TXT"; QT[28] = "AAAA"; QT[33] = "SRV"; QT[35] = "NAPTR"; QT[43] = "DS"
    QT[46] = "RRSIG"; QT[48] = "DNSKEY"; QT[64] = "SVCB"; QT[65] = "HTTPS"; QT[251] = "IXFR"
    QT[252] = "AXFR"; QT[255] = "ANY"; QT[257] = "CAA"
    q = 0; r = 0
}
{
    n = split($1, resp, ","); split($2, rc, ","); split($3, qt, ","); ne = split($4, ext, ",")
    ri = 0
    for (i = 1; i <= n; i++) {
        if (resp[i] == "0" || resp[i] == "False") {
            q++
            if (qt[i] != "") QTC[tname(qt[i] + 0)]++
        } else {
            r++; ri++
            code = rc[ri] + 0
            if (n == 1 && ne >= 1 && ext[1] != "") code += 16 * hex(ext[1])
            RCC[rname(code)]++
        }
    }
}
END {
    print "queries " q; print "responses " r
    for (k in RCC) print "rcode " k " " RCC[k]
    for (k in QTC) print "qtype " k " " QTC[k]
}
