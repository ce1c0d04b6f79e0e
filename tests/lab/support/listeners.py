#!/usr/bin/env python3
"""Lab listeners: accepts TCP connections on the given ports (closing them at once) and prints one
JSON line for every UDP datagram received on the given UDP ports.

usage: listeners.py ADDRESS tcp:PORT[,PORT...] udp:PORT[,PORT...]
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
            s = socket.socket(socket.AF_INET, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
