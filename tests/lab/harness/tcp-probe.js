#!/usr/bin/env node
/*
 * TCP probe for labs: a server that reports what it sees and a client that asks. Plain Node, no
 * dependencies, so it runs as-is inside any namespace.
 *
 * Server: tcp-probe.js serve <address> <port,port,...> <log file> <ready file>
 *   Each connection appends one JSON line to the log when it ends:
 *   {"port":25,"peer":"203.0.113.10","cmd":"WHO","received":N,"sha256":"..."}
 *   Protocol: the client's first line is a command:
 *     WHO              -> server answers "peer <address as seen>\n" and closes
 *     SINK <bytes>     -> server reads that many bytes, answers "sha256 <hex> <count>\n"
 *     SOURCE <bytes>   -> server sends that many random bytes and closes; their sha256 goes to the log
 * Client: tcp-probe.js <who|sink|source> <host> <port> [bytes] [timeoutMs]
 *   prints one JSON line: {"ok":true,...} or {"ok":false,"error":"..."}; exit 0 either way unless
 *   the usage is wrong (a refused or timed-out connection is a result, not a crash).
 */
"use strict";
const net = require("node:net");
const fs = require("node:fs");
const crypto = require("node:crypto");

const CHUNK = 64 * 1024;

function serve(address, ports, logFile, readyFile) {
    let listening = 0;
    for (const port of ports) {
        const server = net.createServer((socket) => handle(socket, port, logFile));
        server.listen(port, address, () => {
            if (++listening === ports.length) fs.writeFileSync(readyFile, "ready\n");
        });
    }
}

function handle(socket, port, logFile) {
    const peer = socket.remoteAddress.replace(/^::ffff:/, "");
    const entry = { port, peer, cmd: "", received: 0 };
    let head = Buffer.alloc(0);
    let hash;
    let expected = 0;
    const done = () => fs.appendFileSync(logFile, JSON.stringify(entry) + "\n");
    socket.on("error", () => {});
    socket.on("close", done);
    socket.on("data", (data) => {
        if (!entry.cmd) {
            head = Buffer.concat([head, data]);
            const nl = head.indexOf(10);
            if (nl < 0) return;
            const [cmd, arg] = head.subarray(0, nl).toString().trim().split(/\s+/);
            entry.cmd = cmd;
            data = head.subarray(nl + 1);
            if (cmd === "WHO") {
                socket.end(`peer ${peer}\n`);
                return;
            }
            if (cmd === "SOURCE") {
                const sourceHash = crypto.createHash("sha256");
                sendRandom(socket, Number(arg), sourceHash, (sent) => {
                    entry.sent = sent;
                    entry.sha256 = sourceHash.digest("hex");
                    socket.end();
                });
                return;
            }
            if (cmd !== "SINK") {
                socket.end("unknown command\n");
                return;
            }
            expected = Number(arg);
            hash = crypto.createHash("sha256");
        }
        if (hash) {
            entry.received += data.length;
            hash.update(data);
            if (entry.received >= expected) {
                entry.sha256 = hash.digest("hex");
                socket.end(`sha256 ${entry.sha256} ${entry.received}\n`);
                hash = undefined;
            }
        }
    });
}

/** Writes `total` random bytes (respecting backpressure), feeding each chunk to `hash`, then calls done. */
function sendRandom(socket, total, hash, done) {
    let sent = 0;
    const pump = () => {
        while (sent < total) {
            const chunk = crypto.randomBytes(Math.min(CHUNK, total - sent));
            hash.update(chunk);
            sent += chunk.length;
            if (!socket.write(chunk)) return socket.once("drain", pump);
        }
        done(sent);
    };
    pump();
}

function client(mode, host, port, bytes, timeoutMs) {
    const result = (o) => {
        process.stdout.write(JSON.stringify(o) + "\n");
        process.exit(0);
    };
    const timer = setTimeout(() => result({ ok: false, error: "timeout" }), timeoutMs);
    timer.unref();
    const socket = net.connect({ host, port });
    socket.on("error", (e) => result({ ok: false, error: e.code || String(e) }));
    const hash = crypto.createHash("sha256");
    let received = 0;
    let text = "";
    socket.on("connect", () => {
        if (mode === "who") socket.write("WHO\n");
        else if (mode === "source") socket.write(`SOURCE ${bytes}\n`);
        else {
            socket.write(`SINK ${bytes}\n`);
            sendRandom(socket, bytes, hash, () => {});
        }
    });
    socket.on("data", (d) => {
        if (mode === "source") {
            received += d.length;
            hash.update(d);
        } else text += d.toString();
    });
    socket.on("end", () => {
        if (mode === "who") result({ ok: true, peer: text.trim().replace(/^peer /, "") });
        else if (mode === "source") result({ ok: true, received, sha256: hash.digest("hex") });
        else {
            const [, remoteHash, count] = text.trim().split(" ");
            result({ ok: true, sent: bytes, sha256: hash.digest("hex"), remoteSha256: remoteHash, remoteCount: Number(count) });
        }
    });
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "serve") serve(rest[0], rest[1].split(",").map(Number), rest[2], rest[3]);
else if (["who", "sink", "source"].includes(mode)) client(mode, rest[0], Number(rest[1]), Number(rest[2] || 0), Number(rest[3] || 5000));
else {
    process.stderr.write("usage: tcp-probe.js serve ADDR PORTS LOG READY | who|sink|source HOST PORT [BYTES] [TIMEOUT_MS]\n");
    process.exit(2);
}
