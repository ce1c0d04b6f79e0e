/**
 * What Docker (27/28, iptables backend) sets up on the home server for Mailu's bridge network with
 * one container and its published ports, built by hand because the lab has no Docker engine: the
 * bridge, FORWARD policy DROP behind DOCKER-USER, the DNAT of each published port, MASQUERADE of the
 * subnet on every other interface, and the raw-table guard that drops packets addressed to the
 * container from anywhere but its bridge. The egress script must work with exactly these rules.
 */
import { Host, Lab } from "../../lab/harness";

export interface PublishedPort {
    /** Host address the port is published on (compose `ports: "ADDR:PORT:PORT"`). */
    readonly hostAddress: string;
    readonly hostPort: number;
    readonly containerPort: number;
}

export interface DockerNetwork {
    /** Bridge name (compose driver_opts `com.docker.network.bridge.name`). */
    readonly bridge: string;
    readonly subnet: string;
    /** Docker's address on the bridge (the containers' default gateway). */
    readonly gateway: string;
    readonly prefixLength: number;
}

/** Creates the bridge and its rules on `home` and plugs `container` into it at `address`. */
export function dockerBridge(lab: Lab, home: Host, net: DockerNetwork, container: Host, address: string, published: readonly PublishedPort[]): void {
    const br = net.bridge;
    home.sh(`set -e
        ip link add ${br} type bridge
        ip address add ${net.gateway}/${net.prefixLength} dev ${br}
        ip link set ${br} up
        sysctl -q -w net.ipv4.ip_forward=1`);
    lab.link(home, `veth-${container.name}`.slice(0, 15), undefined, container, "eth0", `${address}/${net.prefixLength}`);
    home.run(["ip", "link", "set", `veth-${container.name}`.slice(0, 15), "master", br]);
    container.run(["ip", "route", "add", "default", "via", net.gateway]);

    const rules = [
        "iptables -N DOCKER",
        "iptables -N DOCKER-USER",
        "iptables -P FORWARD DROP",
        "iptables -A FORWARD -j DOCKER-USER",
        `iptables -A FORWARD -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `iptables -A FORWARD -o ${br} -j DOCKER`,
        `iptables -A FORWARD -i ${br} ! -o ${br} -j ACCEPT`,
        `iptables -A FORWARD -i ${br} -o ${br} -j ACCEPT`,
        "iptables -A DOCKER-USER -j RETURN",
        "iptables -t nat -N DOCKER",
        "iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
        "iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER",
        `iptables -t nat -A POSTROUTING -s ${net.subnet} ! -o ${br} -j MASQUERADE`,
        `iptables -t nat -A DOCKER -i ${br} -j RETURN`,
        ...published.flatMap((p) => [
            `iptables -t nat -A DOCKER -d ${p.hostAddress}/32 ! -i ${br} -p tcp --dport ${p.hostPort} -j DNAT --to-destination ${address}:${p.containerPort}`,
            `iptables -A DOCKER -d ${address}/32 ! -i ${br} -o ${br} -p tcp --dport ${p.containerPort} -j ACCEPT`,
        ]),
        `iptables -t raw -A PREROUTING -d ${address}/32 ! -i ${br} -j DROP`,
    ];
    home.sh(["set -e", ...rules].join("\n"));
}
