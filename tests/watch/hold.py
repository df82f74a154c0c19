#!/usr/bin/env python3
"""hold.py PORT N SECONDS: opens N connections to 127.0.0.1:PORT, sends half a request on
each and holds them open for SECONDS (a slow or hostile client), then closes them."""
import socket
import sys
import time

port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
held = []
for _ in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /metr")
        held.append(s)
    except OSError:
        pass
print(len(held), flush=True)
time.sleep(secs)
for s in held:
    s.close()
