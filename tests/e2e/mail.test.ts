/**
 * End to end: the rendered dev stack, stood up in network namespaces (lab/topology.ts), carries
 * real e-mail both ways between real mail servers. "Works" here means a message arrived, from the
 * right address, signed and authenticated, not that a config file looks right.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describeRoot } from "../helpers/root";
import { Background, waitFor } from "../lab/harness";
import { REMOTE_AUTHSERV_ID, REMOTE_USER } from "./lab/internet";
import { authenticationResults, headerValues, testMessage } from "./lab/message";
import { mailuHostname } from "./lab/mailuRender";
import { Postfix } from "./lab/postfix";
import { buildMailLab, cleanupLab, MailLab } from "./lab/topology";

const PROBE = path.join(__dirname, "..", "lab", "harness", "tcp-probe.js");
/** A non-SMTP service on the remote host (the probe answers with the peer address it sees). */
const WEB_PORT = 80;

/** The client address Postfix logged for the message with this Message-ID. */
function clientOf(postfix: Postfix, messageId: string): string {
    const log = postfix.log();
    const queueId = new RegExp(`(\\w+): message-id=<${messageId.replace(/\./g, "\\.")}>`).exec(log)?.[1];
    if (!queueId) throw new Error(`no message-id=<${messageId}> in the log\n${log}`);
    const client = new RegExp(`${queueId}: client=[^\\[]*\\[([^\\]]+)\\]`).exec(log)?.[1];
    if (!client) throw new Error(`no client= line for ${queueId}\n${log}`);
    return client;
}

describeRoot("e2e: the rendered topology carries real mail both ways", () => {
    let ml: MailLab;
    let user: string;
    const started = Date.now();

    beforeAll(() => {
        ml = buildMailLab("e2em");
        user = ml.model.users.find((u) => !u.globalAdmin)?.address ?? ml.model.users[0].address;
    }, 180_000);

    afterAll(() => {
        expect(cleanupLab(ml?.lab, "e2e mail", started)).toEqual([]);
    });

    it("inbound: a remote server finds the MX in DNS, goes through HAProxy and the tunnel; Mailu logs its real address and the message is in the mailbox", () => {
        const { remote, remoteAddress } = ml.internet;
        const message = testMessage(REMOTE_USER, user, "inbound mail reaches the mailbox");
        // No --server: swaks looks up the MX of the recipient's domain, like any sending MTA.
        const swaks = remote.run(["swaks", "--to", user, "--from", REMOTE_USER, "--helo", "mx.remote.test", "--data", "-", "--timeout", "30"], { input: message.text, timeoutMs: 60_000 });
        expect(swaks.stdout).toContain(`Trying ${ml.model.mailHost}:25`);
        // HAProxy on the VPS took the connection from the remote and handed it to Mailu over wg0.
        // tcplog: `<client>:<port> [<date>] <frontend> <backend>/<server> ...`
        const session = new RegExp(`^${remoteAddress.replace(/\./g, "\\.")}:\\d+ \\[[^\\]]+\\] \\S+ \\S+/\\S+ `, "m");
        waitFor(() => session.test(ml.vps.haproxy.log()), 10_000, `HAProxy logged no session from ${remoteAddress}:\n${ml.vps.haproxy.log()}`);

        const stored = ml.home.standIn.waitForMessage(user, message.messageId, 30_000);
        expect(headerValues(stored.text, "Subject")).toEqual([message.subject]);
        // PROXY v2 carried the remote's address through HAProxy and the tunnel.
        const client = clientOf(ml.home.standIn, message.messageId);
        expect(client).toBe(remoteAddress);
        expect([ml.model.addresses.vpsPublicIp, ml.model.addresses.wgHub]).not.toContain(client);
    }, 90_000);

    it("outbound: the remote MX sees the VPS public IP, and its SPF, DKIM and DMARC verifiers all pass the message", () => {
        const { remote, remoteMx } = ml.internet;
        const message = testMessage(user, REMOTE_USER, "outbound mail is authenticated");
        ml.home.standIn.submit(message.text, user, [REMOTE_USER]);

        const stored = remoteMx.waitForMessage(REMOTE_USER, message.messageId, 30_000);
        expect(clientOf(remoteMx, message.messageId)).toBe(ml.model.addresses.vpsPublicIp);
        // pyspf (policyd-spf) on the envelope sender.
        expect(headerValues(stored.text, "Received-SPF")[0]).toMatch(new RegExp(`^Pass \\(mailfrom\\).*client-ip=${ml.model.addresses.vpsPublicIp.replace(/\./g, "\\.")};`));
        // OpenDKIM and OpenDMARC (from the published _dmarc record, with its alignment rules).
        const verdicts = authenticationResults(stored.text, REMOTE_AUTHSERV_ID);
        expect(verdicts).toMatchObject({ dkim: "pass", dmarc: "pass" });
        const dmarc = headerValues(stored.text, "Authentication-Results").find((f) => / dmarc=/.test(f));
        expect(dmarc).toContain(`(p=${ml.model.dmarc.policy} `);
        expect(dmarc).toContain(`header.from=${user.split("@")[1]}`);
        // A second, independent DKIM verifier (dkimpy) on the message as stored.
        const dkimpy = remote.run(["/usr/bin/python3", "-c", "import dkim, sys; sys.exit(0 if dkim.verify(sys.stdin.buffer.read()) else 1)"], { input: readFileSync(stored.file), allowFailure: true });
        expect(dkimpy.status).toBe(0);
    }, 90_000);

    it("Mailu's own submissions to HOSTNAMES[0]:25 (sieve redirects, vacation replies) go out through the VPS and back in, into the mailbox", () => {
        // Dovecot's sieve sends to the first of HOSTNAMES on port 25 when PROXY_PROTOCOL includes 25,
        // from the Mailu subnet: the egress policy takes it into the tunnel, HAProxy on the VPS takes
        // it (it is addressed to the VPS), and hands it back to Mailu with a PROXY v2 header.
        const { container, containerAddress, standIn } = ml.home;
        const mailHost = mailuHostname(ml.rendered);
        const message = testMessage(ml.model.adminAddress, user, "vacation reply from Mailu itself");
        const swaks = container.run(["swaks", "--server", mailHost, "--port", "25", "--to", user, "--from", ml.model.adminAddress, "--helo", mailHost, "--data", "-", "--timeout", "30"], { input: message.text, timeoutMs: 60_000 });
        expect(swaks.stdout).toContain(`Trying ${mailHost}:25`);
        const stored = standIn.waitForMessage(user, message.messageId, 30_000);
        expect(headerValues(stored.text, "Subject")).toEqual([message.subject]);
        // It went through HAProxy (PROXY v2 names the Mailu-subnet sender), not around it.
        const session = new RegExp(`^${containerAddress.replace(/\./g, "\\.")}:\\d+ \\[[^\\]]+\\] `, "m");
        waitFor(() => session.test(ml.vps.haproxy.log()), 10_000, `HAProxy logged no session from ${containerAddress}:\n${ml.vps.haproxy.log()}`);
        expect(clientOf(standIn, message.messageId)).toBe(containerAddress);
    }, 90_000);

    describe("what does not go through the tunnel", () => {
        let web: Background;
        const webLog = () => path.join(ml.lab.dir, "remote-web.log");

        beforeAll(() => {
            if (!ml) return; // the lab did not come up: the outer beforeAll's error is reported
            const ready = path.join(ml.lab.dir, "remote-web.ready");
            web = ml.internet.remote.spawn(["node", PROBE, "serve", ml.internet.remoteAddress, String(WEB_PORT), webLog(), ready]);
            waitFor(() => existsSync(ready), 10_000, "the remote's web probe did not start");
        });
        afterAll(() => web && ml?.lab.stop(web.pid));

        it("the container's non-SMTP traffic leaves from the home WAN IP", () => {
            const seen = JSON.parse(ml.home.container.run(["node", PROBE, "who", ml.internet.remoteAddress, String(WEB_PORT), "0", "5000"], { timeoutMs: 15_000 }).stdout) as { ok: boolean; peer?: string };
            expect(seen).toEqual({ ok: true, peer: ml.model.addresses.homeWanIp });
        });

        it("the home host's own SMTP takes the home WAN, where the ISP drops it", () => {
            const dropped = ml.internet.droppedHomeSmtp();
            const attempt = ml.home.host.run(["nc", "-z", "-w", "3", ml.internet.remoteAddress, "25"], { allowFailure: true, timeoutMs: 15_000 });
            expect(attempt.status).not.toBe(0);
            expect(ml.internet.droppedHomeSmtp()).toBeGreaterThan(dropped);
            expect(ml.internet.remoteMx.log()).not.toContain(`[${ml.model.addresses.homeWanIp}]`);
        });
    });

    it("tunnel down: outbound mail stays queued and never leaves from the home WAN; tunnel back: it is delivered from the VPS", () => {
        const { remoteMx } = ml.internet;
        const { standIn } = ml.home;
        const dropped = ml.internet.droppedHomeSmtp();
        ml.wireguard.down(ml.home.host);

        const message = testMessage(user, REMOTE_USER, "mail waits for the tunnel");
        const logStart = standIn.log().length;
        standIn.submit(message.text, user, [REMOTE_USER]);
        standIn.waitForLog(new RegExp(`to=<${REMOTE_USER}>.*status=deferred`), 30_000, logStart);
        // Several retries later (backoff is seconds in the lab) it is still queued, and nothing left.
        const retriesSeen = () => (standIn.log().slice(logStart).match(/status=deferred/g) ?? []).length;
        waitFor(() => retriesSeen() >= 3, 30_000, "the stand-in did not retry the deferred message");
        const queued = standIn.queue();
        expect(queued.map((q) => q.queue_name)).toEqual(["deferred"]);
        expect(remoteMx.mailbox(REMOTE_USER).some((m) => m.text.includes(message.messageId))).toBe(false);
        expect(ml.internet.droppedHomeSmtp()).toBe(dropped);
        expect(remoteMx.log()).not.toContain(`[${ml.model.addresses.homeWanIp}]`);

        ml.wireguard.up(ml.home.host); // its PostUp re-applies the egress policy
        standIn.flush();
        remoteMx.waitForMessage(REMOTE_USER, message.messageId, 60_000);
        expect(clientOf(remoteMx, message.messageId)).toBe(ml.model.addresses.vpsPublicIp);
        expect(standIn.queue()).toEqual([]);
    }, 150_000);
});
