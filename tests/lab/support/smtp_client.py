#!/usr/bin/env python3
"""A lab SMTP client that behaves like a sending MTA: connects, sends NOTHING until the server's
banner has arrived, then EHLO (optionally pausing before it) and QUIT. Prints one JSON line.

usage: smtp_client.py HOST PORT [PAUSE_SECONDS_BEFORE_EHLO]
"""
import json
import socket
import sys
import time


def read_line(conn):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = conn.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").rstrip("\r\n")


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    with socket.create_connection((host, port), timeout=10) as conn:
        banner = read_line(conn)
        if pause:
            print(json.dumps({"banner": banner, "paused": True}), flush=True)
            time.sleep(pause)
        conn.sendall(b"EHLO client.lab.example\r\n")
        ehlo = read_line(conn)
        conn.sendall(b"QUIT\r\n")
        quit_reply = read_line(conn)
    print(json.dumps({"banner": banner, "ehlo": ehlo, "quit": quit_reply}), flush=True)


if __name__ == "__main__":
    main()
