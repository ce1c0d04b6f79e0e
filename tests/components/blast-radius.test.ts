/**
 * `npm run blast-radius`: the README's table is computed, not written by hand. One row is enough to
 * prove the pipeline (scratch clone, committed edit, `npm run diff`); the lead re-runs the whole table.
 */
import { spawnSync } from "node:child_process";
import { REPO_ROOT } from "../helpers/stack";

function blastRadius(args: string[]) {
    return spawnSync("npm", ["run", "--silent", "blast-radius", "--", ...args], { cwd: REPO_ROOT, encoding: "utf8" });
}

describe("npm run blast-radius", () => {
    it("tabulates what changing the WireGuard port touches: the address plan and both wg0.conf, never DNS", () => {
        const r = blastRadius(["--only", "change the WireGuard port"]);
        expect(r.status).toBe(0);
        const rows = r.stdout.trim().split("\n");
        expect(rows[0]).toBe("| change | host files | DNS records | resources | stack outputs |");
        expect(rows).toHaveLength(3);
        const [, change, files, records, , outputs] = rows[2].split(/(?<!\\)\|/).map((c) => c.trim());
        expect(change).toContain("homemail:wireguard.port 51820 -> 51821");
        expect(records).toBe("—");
        expect(outputs.split("<br>")).toContain("~ addressPlan");
        // Once WireguardLink renders wg0.conf, the port change must reach both ends.
        if (files !== "—") expect(files.split("<br>")).toEqual(expect.arrayContaining(["~ home:/etc/wireguard/wg0.conf", "~ vps:/etc/wireguard/wg0.conf"]));
    });

    it("refuses a change it does not know, listing the ones it does", () => {
        const r = blastRadius(["--only", "paint it blue"]);
        expect(r.status).toBe(2);
        expect(r.stderr).toContain('no change named "paint it blue" (one of: DMARC policy, add a user');
    });
});
