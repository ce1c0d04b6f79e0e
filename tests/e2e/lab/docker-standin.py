#!/usr/bin/python3
"""LAB STAND-IN for the `docker` CLI on the e2e lab's home host (the lab has no Docker engine: Mailu's
images cannot be pulled). It answers exactly the docker commands `homemail doctor` runs there, from
the real state of the lab's Mailu stand-in (one netns "container" with a real Postfix, behind the
hand-built bridge of docker.ts):

  docker compose -f FILE ps [--all] --format json [SERVICE...]
      one JSON object a line per rendered service, as Compose >= 2.21 prints them: running while
      the container's namespace holder lives; "healthy" while its Postfix master runs; the front's
      Publishers read from the DNAT rules in iptables' nat DOCKER chain. On the VPS (services
      with "processes"): running while every lab process that plays the service (found by its
      command line, in this host's network namespace) runs, healthy then if it has a healthcheck
  docker compose -f FILE exec -T SERVICE postqueue ARGS...
      the stand-in Postfix's postqueue (its config directory given with -c) inside the container
  docker inspect --format {{.State.Pid}} NAME
      the PID holding the container's namespaces

Its state (which services, the PID, the Postfix directories) is a JSON file written by
tests/e2e/lab/dockerStandIn.ts. Anything else: exit 125 with a message naming the command.
"""
import hashlib
import json
import os
import re
import subprocess
import sys

STATE = os.environ.get("HOMEMAIL_LAB_DOCKER_STATE", "/usr/local/lib/homemail-lab/docker-standin.json")


def unsupported(argv):
    sys.stderr.write("docker (lab stand-in): unsupported command: docker %s\n" % " ".join(argv))
    sys.exit(125)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def master_alive(state):
    try:
        with open(state["postfixPidFile"]) as f:
            return alive(int(f.read().strip()))
    except (OSError, ValueError):
        return False


def publishers(state):
    rules = subprocess.run(["iptables", "-w", "-t", "nat", "-S", "DOCKER"], capture_output=True, text=True).stdout
    found = []
    for line in rules.splitlines():
        m = re.search(r"-d (\S+?)(?:/32)? .*--dport (\d+) -j DNAT --to-destination [\d.]+:(\d+)", line)
        if m:
            found.append({"URL": m.group(1), "TargetPort": int(m.group(3)), "PublishedPort": int(m.group(2)), "Protocol": "tcp"})
    return found


def container_name(state, service):
    return "%s-%s-1" % (state["project"], service)


def own_netns_cmdlines():
    """The command lines of the processes in this host's network namespace (labs share /proc)."""
    mine = os.readlink("/proc/self/ns/net")
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink("/proc/%s/ns/net" % pid) != mine:
                continue
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                found.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


def service_state(state, s, cmdlines):
    """(running, healthy) of one service: the Mailu stand-in's container, or the lab processes that play a gateway service."""
    if "processes" in s:
        running = all(any(marker in line for line in cmdlines) for marker in s["processes"])
        return running, (running if s.get("healthcheck") else None)
    return alive(state["pid"]), master_alive(state)


def ps(state, args):
    services = [a for a in args if not a.startswith("-") and a != "json"]
    cmdlines = own_netns_cmdlines() if any("processes" in s for s in state["services"]) else []
    for s in state["services"]:
        if services and s["name"] not in services:
            continue
        running, healthy = service_state(state, s, cmdlines)
        print(json.dumps({
            "ID": hashlib.sha256(container_name(state, s["name"]).encode()).hexdigest()[:12],
            "Name": container_name(state, s["name"]),
            "Project": state["project"],
            "Service": s["name"],
            "State": "running" if running else "exited",
            "Health": "" if not running or healthy is None else ("healthy" if healthy else "unhealthy"),
            "Status": ("Up" if healthy is None else "Up (healthy)" if healthy else "Up (unhealthy)") if running else "Exited (137)",
            "ExitCode": 0 if running else 137,
            "Publishers": publishers(state) if s["publishes"] and running else [],
        }))


def compose_exec(state, args):
    args = [a for a in args if a not in ("-T",)]
    if len(args) < 2 or args[1] != "postqueue":
        unsupported(["compose", "exec", "-T"] + args)
    cmd = ["nsenter", "-t", str(state["pid"]), "--mount", "--net", "postqueue", "-c", state["postfixConf"]] + args[2:]
    sys.exit(subprocess.run(cmd).returncode)


def main(argv):
    with open(STATE) as f:
        state = json.load(f)
    if argv[:1] == ["compose"]:
        rest = argv[1:]
        if rest[:1] == ["-f"] and len(rest) > 1:
            rest = rest[2:]
        if rest[:1] == ["ps"] and "--format" in rest:
            return ps(state, rest[1:])
        if rest[:1] == ["exec"]:
            return compose_exec(state, rest[1:])
    if argv[:3] == ["inspect", "--format", "{{.State.Pid}}"] and len(argv) == 4:
        if argv[3] not in [container_name(state, s["name"]) for s in state["services"]]:
            sys.stderr.write("Error: No such object: %s\n" % argv[3])
            sys.exit(1)
        print(state["pid"] if alive(state["pid"]) else 0)
        return
    unsupported(argv)


main(sys.argv[1:])
