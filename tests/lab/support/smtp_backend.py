#!/usr/bin/env python3
"""A stand-in for Mailu's port 25 in the labs: requires a PROXY protocol v2 header on every
connection, logs what the header says (one JSON line per connection on stdout), then speaks just
enough server-first SMTP: a 220 banner first, 250 to EHLO/HELO, 221 to QUIT.

usage: smtp_backend.py ADDRESS PORT BANNER_HOST
"""
import json
import socket
import struct
import sys
import threading

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed inside the PROXY header")
        data += chunk
    return data


def parse_header(conn):
    fixed = read_exactly(conn, 16)
    if fixed[:12] != SIGNATURE:
        raise ValueError("no PROXY v2 signature: %r" % fixed)
    version, command = fixed[12] >> 4, fixed[12] & 0x0F
    family, transport = fixed[13] >> 4, fixed[13] & 0x0F
    (length,) = struct.unpack("!H", fixed[14:16])
    body = read_exactly(conn, length)
    entry = {"version": version, "command": "PROXY" if command == 1 else "LOCAL" if command == 0 else command}
    if command == 1 and family == 1 and transport == 1:  # TCP over IPv4
        src, dst, sport, dport = struct.unpack("!4s4sHH", body[:12])
        entry.update(src=socket.inet_ntoa(src), dst=socket.inet_ntoa(dst), srcPort=sport, dstPort=dport)
    return entry


def serve(conn, banner_host):
    with conn:
        try:
            entry = parse_header(conn)
        except (ValueError, EOFError) as err:
            print(json.dumps({"error": str(err)}), flush=True)
            return
        print(json.dumps(entry), flush=True)
        conn.sendall(("220 %s ESMTP lab\r\n" % banner_host).encode())
        buf = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(("250 %s\r\n" % banner_host).encode())
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"502 lab backend\r\n")


def main():
    address, port, banner_host = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, port))
    server.listen(64)
    print(json.dumps({"listening": "%s:%d" % (address, port)}), flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, banner_host), daemon=True).start()


if __name__ == "__main__":
    main()
