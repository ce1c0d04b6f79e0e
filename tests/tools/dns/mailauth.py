#!/usr/bin/python3
"""Real mail-authentication verifiers against the lab DNS server (run inside its netns, whose
/etc/resolv.conf points at it). Reads a JSON list of checks on stdin, prints a JSON list of results.

  {"kind": "dkim", "domain": d, "selector": s, "keyFile": pem}   -> {"signed": bool, "tampered": bool}
      signs a message From: user@d with d=<d>, s=<s> (python3-dkim), verifies it and a copy with one
      body byte changed; both verifications fetch the public key from DNS.
  {"kind": "spf", "ip": ip, "sender": addr, "helo": host}        -> {"result": "pass"|"fail"|...}
      python3-spf's check2 (RFC 7208), DNS through the same resolver.
"""
import json
import sys

import dkim
import spf


def dkim_check(c):
    with open(c["keyFile"], "rb") as f:
        key = f.read()
    domain = c["domain"]
    message = (
        f"From: User <user@{domain}>\r\n"
        f"To: someone@example.invalid\r\n"
        f"Subject: homemail DNS lab\r\n"
        f"Message-ID: <lab@{domain}>\r\n"
        f"\r\n"
        f"Signed with the key whose public half the zone publishes.\r\n"
    ).encode()
    sig = dkim.sign(message, c["selector"].encode(), domain.encode(), key, include_headers=[b"from", b"to", b"subject", b"message-id"])
    signed = sig + message
    tampered = signed.replace(b"public half", b"public HALF")
    return {"signed": bool(dkim.verify(signed)), "tampered": bool(dkim.verify(tampered))}


def spf_check(c):
    result, _explanation = spf.check2(i=c["ip"], s=c["sender"], h=c["helo"])
    return {"result": result}


def main():
    checks = json.load(sys.stdin)
    out = []
    for c in checks:
        if c["kind"] == "dkim":
            out.append(dkim_check(c))
        elif c["kind"] == "spf":
            out.append(spf_check(c))
        else:
            raise SystemExit(f"unknown check {c['kind']}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
