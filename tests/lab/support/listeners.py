#!/usr/bin/env python3
"""Lab listeners: accepts TCP connections on the given ports (closing them at once) and prints one
JSON line for every UDP datagram received on the given UDP ports.

usage: listeners.py ADDRESS tcp:PORT[,PORT...] udp:PORT[,PORT...]
ADDRESS may be IPv6 (`::`): then the sockets take IPv6 only.
"""
import json
import selectors
import socket
import sys


def main():
    address = sys.argv[1]
    sel = selectors.DefaultSelector()
    for spec in sys.argv[2:]:
        proto, ports = spec.split(":", 1)
        for port in [int(p) for p in ports.split(",") if p]:
            kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            s = socket.socket(family, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                # IPv6 only: an IPv4 listener on the same port runs beside it.
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((address, port))
            if proto == "tcp":
                s.listen(16)
            sel.register(s, selectors.EVENT_READ, (proto, port))
    print(json.dumps({"ready": True}), flush=True)
    while True:
        for key, _ in sel.select():
            proto, port = key.data
            if proto == "tcp":
                conn, _ = key.fileobj.accept()
                conn.close()
            else:
                data, peer = key.fileobj.recvfrom(2048)
                print(json.dumps({"udp": port, "from": peer[0], "data": data.decode(errors="replace").strip()}), flush=True)


if __name__ == "__main__":
    main()
