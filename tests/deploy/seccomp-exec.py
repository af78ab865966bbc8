"""Loads the seccomp filter systemd builds from systemd/tracepulse.service, then execs argv[1:].

Usage: seccomp-exec.py UNIT_FILE PROGRAM [ARGS...]

Used by tests/deploy/sandbox.test.ts to run TracePulse under the unit's SystemCallFilter= and
RestrictAddressFamilies= without a running systemd. The system call groups (@system-service,
@privileged, ...) are read from `systemd-analyze syscall-filter`, so they are the tables of the
installed systemd, not a copy. Like systemd with SystemCallErrorNumber=EPERM, a call outside the
allow-list fails with EPERM instead of killing the process; so does a socket of a family outside
RestrictAddressFamilies= (systemd answers EAFNOSUPPORT there; the difference does not matter
for "does TracePulse run").
"""

import errno
import os
import socket
import subprocess
import sys

import seccomp


def syscall_groups() -> dict[str, list[str]]:
    out = subprocess.run(
        ["systemd-analyze", "syscall-filter", "--no-pager"], capture_output=True, text=True, check=True
    ).stdout
    groups: dict[str, list[str]] = {}
    current = None
    for line in out.splitlines():
        item = line.strip()
        if line.startswith("@"):
            current = item
            groups[current] = []
        elif current and item and not item.startswith("#"):
            groups[current].append(item)
    return groups


def expand(groups: dict[str, list[str]], names: list[str]) -> set[str]:
    calls: set[str] = set()
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if not name.startswith("@"):
            calls.add(name)
        elif name not in seen:
            seen.add(name)
            todo.extend(groups[name])
    return calls


def unit_settings(path: str, key: str) -> list[str]:
    values = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(f"{key}="):
                values.append(line.split("=", 1)[1].strip())
    return values


def main() -> None:
    unit, program = sys.argv[1], sys.argv[2:]
    groups = syscall_groups()
    # First SystemCallFilter= line is the allow-list, later "~" lines take calls away (systemd.exec).
    allowed = expand(groups, ["@default"])
    for value in unit_settings(unit, "SystemCallFilter"):
        if value.startswith("~"):
            allowed -= expand(groups, value[1:].split())
        else:
            allowed |= expand(groups, value.split())

    families = {
        getattr(socket, name) for v in unit_settings(unit, "RestrictAddressFamilies") for name in v.split()
    }

    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
    for call in sorted(allowed):
        if call in ("socket", "socketpair"):
            continue
        try:
            f.add_rule(seccomp.ALLOW, call)
        except (RuntimeError, ValueError):
            pass  # not a system call on this architecture
    for call in ("socket", "socketpair"):
        if call not in allowed:
            continue
        for family in families:
            f.add_rule(seccomp.ALLOW, call, seccomp.Arg(0, seccomp.EQ, int(family)))
    f.load()
    os.execv(program[0], program)


if __name__ == "__main__":
    main()
