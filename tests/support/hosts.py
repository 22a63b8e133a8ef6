"""Test hosts on one machine: network namespaces joined by virtual networks (iproute2).

A `Lab` is a handful of hosts, each a network namespace with its own loopback and addresses,
and networks between them, each a bridge inside one more namespace (the lab's switch):

    host ns "redis"      eth0 10.77.1.1 ──┐
    host ns "replica-a"  eth0 10.77.1.11 ─┤ bridge "backend"  ┐
                         eth1 10.77.2.11 ─┼─ bridge "frontend"│ in the switch ns
    host ns "customers"  eth0 10.77.2.31 ─┘                   ┘

Every host is wired to a network by a veth pair created straight inside the namespaces (`ip -n
switch link add … peer … netns host`), so nothing is ever created, renamed or routed in the
machine's own namespace. `cut(host, network)` takes the host's port on the switch down: its
packets are dropped silently, as when a cable or a switch port fails; established TCP
connections neither close nor reset, their peers only stop hearing. `mend` brings it back.

Processes run inside a host with `host.popen(argv)` (`ip netns exec`); the test process itself
reaches a host's network with `host.call(function)`, which runs the function in a thread of its
own that first joins the host's namespace (setns(2) applies to the calling thread only).

Names carry the creating process id (`harbor-<pid>-<hex>-<host>`); `Lab.close()` (a finalizer)
kills every process started in the lab, then deletes its namespaces, which deletes their
interfaces; labs left behind by a process that died without closing are swept at the next start.
`netns_refusal()` says why the kernel refuses namespaces here (quoting its error: not root, or
a sandbox), or None; a machine without iproute2 is not set up, and fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PREFIX = "harbor"
_NAME = re.compile(rf"^{PREFIX}-(\d+)-[0-9a-f]+-")

T = TypeVar("T")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `ip ARGS`; a failure raises with what ip printed."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip() or done.stdout}")
    return done


def netns_refusal() -> str | None:
    """Why the kernel refuses to build test hosts here, or None when it allows them: a probe
    namespace is added, given a veth pair and deleted, and what refused is quoted (an
    unprivileged user or a sandbox gets the kernel's "Operation not permitted"). Only that is a
    reason to skip: iproute2 missing is a machine not set up (scripts/system-deps.sh installs
    it), and raises."""
    if shutil.which("ip") is None:
        raise RuntimeError("iproute2's `ip` is not installed; run scripts/system-deps.sh")
    name = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(3)}-probe"
    try:
        added = ip("netns", "add", name, check=False)
        if added.returncode != 0:
            return f"the kernel refused `ip netns add`: {added.stderr.strip()}"
        veth = ip(
            "-n", name, "link", "add", "p0", "type", "veth", "peer", "name", "p1", check=False
        )
        if veth.returncode != 0:
            return f"the kernel refused a veth pair in a namespace: {veth.stderr.strip()}"
        return None
    finally:
        ip("netns", "del", name, check=False)


def sweep_abandoned() -> list[str]:
    """Delete the namespaces of labs whose creating process is gone; returns their names."""
    swept = []
    for line in ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = _NAME.match(name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or Path(f"/proc/{pid}").exists():
            continue
        ip("netns", "del", name, check=False)
        swept.append(name)
    return swept


def _die_with_the_test() -> None:
    # Between fork and exec: the kernel kills the child if the thread that started it dies,
    # even by SIGKILL, so a test killed mid-run leaves no service running in a dead lab.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _join_namespace(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns({path}): {os.strerror(error)}")
    finally:
        os.close(fd)


@dataclass
class Host:
    """One network namespace: a machine of the lab, with its addresses by network."""

    lab: Lab
    name: str  # the lab's name for it ("redis", "replica-a")
    netns: str  # the namespace's name
    addresses: dict[str, str] = field(default_factory=dict)  # network -> address
    interfaces: dict[str, str] = field(default_factory=dict)  # network -> interface here

    def address(self, network: str) -> str:
        return self.addresses[network]

    def popen(self, argv: list[str], **options: Any) -> subprocess.Popen[bytes]:
        """Start `argv` inside this host (its own session, so the lab can kill its group). It
        dies with the thread that calls this: call it from the test's main thread."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, *argv],
            start_new_session=True,
            preexec_fn=_die_with_the_test,
            **options,
        )
        self.lab.processes.append(process)
        return process

    def run(self, argv: list[str], timeout: float = 30, **options: Any) -> str:
        """Run `argv` inside this host to its end; its output, or RuntimeError with it."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.netns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            **options,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} on {self.name} failed: {done.stderr or done.stdout}")
        return done.stdout

    def call(self, function: Callable[..., T], *args: Any, timeout: float = 30) -> T:
        """`function(*args)` in a thread that lives in this host's network: the sockets it
        opens are this host's. Its exception is raised here; TimeoutError after `timeout`."""
        result: list[T] = []
        failure: list[BaseException] = []

        def inside() -> None:
            try:
                _join_namespace(f"/run/netns/{self.netns}")
                result.append(function(*args))
            except BaseException as error:
                failure.append(error)

        thread = threading.Thread(target=inside, name=f"in-{self.name}", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"{getattr(function, '__name__', function)} on {self.name}")
        if failure:
            raise failure[0]
        return result[0]


class Lab:
    """Hosts and networks of one test; see the module docstring. Use as a context manager or
    call `close()` in a finalizer."""

    def __init__(self) -> None:
        sweep_abandoned()
        self.tag = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(3)}"
        self.switch = f"{self.tag}-switch"
        self.hosts: dict[str, Host] = {}
        self.networks: dict[str, str] = {}  # network -> bridge name in the switch
        self.ports: dict[tuple[str, str], str] = {}  # (host, network) -> port in the switch
        self.processes: list[subprocess.Popen[bytes]] = []
        self._made: list[str] = []
        self._add_namespace(self.switch)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _add_namespace(self, netns: str) -> None:
        ip("netns", "add", netns)
        self._made.append(netns)
        ip("-n", netns, "link", "set", "lo", "up")

    def network(self, name: str) -> None:
        """A network: one bridge in the switch namespace."""
        bridge = f"br{len(self.networks)}"
        ip("-n", self.switch, "link", "add", bridge, "type", "bridge")
        ip("-n", self.switch, "link", "set", bridge, "up")
        self.networks[name] = bridge

    def host(self, name: str, **addresses: str) -> Host:
        """A host wired to each named network with the given address (/24), all links up."""
        host = Host(self, name, f"{self.tag}-{name}")
        self._add_namespace(host.netns)
        self.hosts[name] = host
        for network, address in addresses.items():
            self.wire(host, network, address)
        return host

    def wire(self, host: Host, network: str, address: str) -> None:
        interface = f"eth{len(host.interfaces)}"
        port = f"p{len(self.ports)}"  # interface names are at most 15 characters
        ip(
            "-n", self.switch, "link", "add", port, "type", "veth",
            "peer", "name", interface, "netns", host.netns,
        )  # fmt: skip
        ip("-n", self.switch, "link", "set", port, "master", self.networks[network])
        ip("-n", self.switch, "link", "set", port, "up")
        ip("-n", host.netns, "addr", "add", f"{address}/24", "dev", interface)
        ip("-n", host.netns, "link", "set", interface, "up")
        host.addresses[network] = address
        host.interfaces[network] = interface
        self.ports[(host.name, network)] = port

    def cut(self, host: Host, network: str) -> None:
        """The host's link to `network` stops carrying anything, in both directions."""
        ip("-n", self.switch, "link", "set", self.ports[(host.name, network)], "down")

    def mend(self, host: Host, network: str) -> None:
        ip("-n", self.switch, "link", "set", self.ports[(host.name, network)], "up")

    def close(self) -> None:
        """Kill every process started in the lab (their whole groups), then delete its
        namespaces. Safe to call more than once; never raises for what is already gone."""
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        self.processes.clear()
        for netns in reversed(self._made):
            # A namespace lives on while a process holds it; killed ones may take a moment.
            for _ in range(20):
                if ip("netns", "del", netns, check=False).returncode == 0:
                    break
                time.sleep(0.1)
        self._made.clear()
