/**
 * The doctor's IPv6 exposure check where the doctor runs without working IPv6, for real: the
 * check's own probes (route lookup, TCP connects) in a network namespace with no IPv6 route at all,
 * and in one whose default IPv6 route leads to a gateway that forwards nothing (packets vanish, as
 * on a host whose provider hands out IPv6 it does not route). Both must warn, never say ok. The VPS's
 * addresses come from a stand-in for SSH (`ip -6 -o addr` output); nothing leaves the namespaces.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { describeRoot } from "../helpers/root";
import { exposedPorts } from "../../scripts/lib/doctor/checks/exposure";
import { devModel, REPO_ROOT } from "../helpers/stack";
import { Lab } from "./harness";

const VPS_IPV6 = "2001:db8:113::10";

/** Runs the check's run() with the dev model and prints its finding as JSON. */
const SCRIPT = `
import { exposureChecks } from ${JSON.stringify(path.join(REPO_ROOT, "scripts/lib/doctor/checks/exposure"))};
import { devModel } from ${JSON.stringify(path.join(REPO_ROOT, "tests/helpers/stack"))};
const model = devModel();
const ssh = async () => ({ status: 0, stdout: "2: eth0    inet6 ${VPS_IPV6}/64 scope global \\\\       valid_lft forever", stderr: "" });
exposureChecks({ model }, { stack: "dev" })[0].run({ model, ssh, timeoutMs: 5000 } as never).then((f) => process.stdout.write(JSON.stringify(f)));
`;

describeRoot("lab: the doctor's IPv6 exposure check without working IPv6 warns, never ok", () => {
    let lab: Lab;
    let script: string;

    beforeAll(() => {
        lab = new Lab("v6nr");
        script = path.join(lab.dir, "exposure.ts");
        writeFileSync(script, SCRIPT);
    });

    afterAll(() => {
        lab?.cleanup();
        expect(lab?.leftovers() ?? []).toEqual([]);
    });

    const finding = (ns: ReturnType<Lab["netns"]>) => JSON.parse(ns.run([path.join(REPO_ROOT, "node_modules/.bin/tsx"), script], { cwd: REPO_ROOT, timeoutMs: 60_000 }).stdout) as { status: string; detail: string; fix?: string };

    it("no IPv6 route: a warn saying so, and how to run it from elsewhere", () => {
        const f = finding(lab.netns("bare"));
        expect(f).toEqual({
            status: "warn",
            detail: `no IPv6 route from this machine to ${VPS_IPV6}: cannot tell whether tcp ${exposedPorts(devModel()).map((p) => p.port).join(", ")} answer there`,
            fix: "run the doctor from a machine with IPv6: `npm run doctor -- --stack dev --only exposure`",
        });
    });

    it("a default IPv6 route into nowhere: not even the SSH port answers, so silence proves nothing: a warn", () => {
        // The gateway is a host that is no router (forwarding off): what it is handed for others, it drops.
        const ns = lab.netns("void");
        const gateway = lab.netns("gw");
        lab.link(ns, "eth0", undefined, gateway, "eth0", undefined);
        gateway.run(["ip", "-6", "address", "add", "2001:db8:ffff::1/64", "dev", "eth0", "nodad"]);
        ns.sh(`set -e
            ip -6 address add 2001:db8:ffff::2/64 dev eth0 nodad
            ip -6 route add default via 2001:db8:ffff::1`);
        expect(finding(ns)).toMatchObject({ status: "warn", detail: expect.stringContaining("silence proves nothing") });
    });
});
