"""Rasa's tracker and lock stores through Sentinel (bot/redis_stores.py), built from the real
endpoints.yml as Rasa builds them: they write to the master Sentinel names, and after a failover
to the new one. Real redis-server processes on loopback: a primary, a replica, one Sentinel."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from bot.redis_stores import FailoverLockStore, FailoverTrackerStore
from tests.support.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
CONVERSATION = "0123456789abcdef0123456789abcdef"


class Servers:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.primary, self.replica, self.sentinel = free_port(), free_port(), free_port()
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(self, port: int, args: list[str]) -> None:
        log = (self.folder / f"{port}.log").open("ab")
        self.processes[port] = subprocess.Popen(args, stdout=log, stderr=log)

    def start(self) -> None:
        base = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--dir", str(self.folder)]
        base += ["--repl-diskless-sync-delay", "0"]
        self.spawn(self.primary, [*base, "--port", str(self.primary)])
        self.spawn(
            self.replica,
            [*base, "--port", str(self.replica), "--replicaof", "127.0.0.1", str(self.primary)],
        )
        for port in (self.primary, self.replica):
            wait_for_port(port)
        # The replica in sync before the Sentinel starts: its first look at the primary then
        # finds it (the next is 10 s later), so a failover has a replica to promote.
        with redis.Redis(port=self.primary) as primary:
            until(lambda: primary.info("replication")["connected_slaves"] == 1)
        config = self.folder / "sentinel.conf"
        config.write_text(
            f"bind 127.0.0.1\nport {self.sentinel}\ndir {self.folder}\n"
            f"sentinel monitor harbor 127.0.0.1 {self.primary} 1\n"
            "sentinel down-after-milliseconds harbor 500\n"
            "sentinel failover-timeout harbor 5000\n"
        )
        self.processes[self.sentinel] = subprocess.Popen(
            ["redis-server", str(config), "--sentinel"]
        )
        for port in self.processes:
            wait_for_port(port)

    def master(self) -> int:
        with redis.Redis(port=self.sentinel, decode_responses=True) as sentinel:
            return int(sentinel.sentinel_get_master_addr_by_name("harbor")[1])

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill()
            process.wait()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    running = Servers(tmp_path)
    running.start()
    yield running
    running.stop()


def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_rasa_stores_follow_the_master_sentinel_names(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As make run's environment gives Rasa: REDIS_HOST/PORT name a server that is not there.
    env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": "1", "REDIS_DB": "0", "REDIS_PASSWORD": ""}
    env |= {"RASA_KEY_PREFIX": "ha", "REDIS_SENTINELS": f"127.0.0.1:{servers.sentinel}"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    endpoints = str(ROOT / "endpoints.yml")
    trackers = TrackerStore.create(read_endpoint_config(endpoints, "tracker_store"))
    locks = LockStore.create(read_endpoint_config(endpoints, "lock_store"))
    assert isinstance(getattr(trackers, "_tracker_store", trackers), FailoverTrackerStore)
    assert isinstance(locks, FailoverLockStore)

    asyncio.run(trackers.save(DialogueStateTracker(CONVERSATION, slots=[])))
    locks.issue_ticket(CONVERSATION)
    with redis.Redis(port=servers.primary, decode_responses=True) as primary:
        assert sorted(primary.keys("*")) == [
            f"ha:lock:{CONVERSATION}",
            f"ha:tracker:{CONVERSATION}",
        ]
        primary.wait(1, 2000)
    with redis.Redis(port=servers.sentinel, decode_responses=True) as sentinel:
        until(lambda: len(sentinel.sentinel_slaves("harbor")) == 1)

    killed = servers.processes.pop(servers.primary)
    killed.kill()
    killed.wait()
    until(lambda: servers.master() == servers.replica)
    # The stores' next calls go to the promoted replica (retried while it is promoted).
    locks.delete_lock(CONVERSATION)
    assert asyncio.run(trackers.retrieve(CONVERSATION)) is not None
    with redis.Redis(port=servers.replica, decode_responses=True) as promoted:
        assert promoted.keys("*") == [f"ha:tracker:{CONVERSATION}"]
