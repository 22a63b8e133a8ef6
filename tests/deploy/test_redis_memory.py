"""Redis's memory in the deployment files: capped below its container's limit, refusing writes
rather than evicting keys when full, and big enough for every chat the lifetimes keep.

Redis holds every chat started within its lifetimes, not only the open ones, so its memory is
set by chats started per second × how long each is kept × bytes per chat. The figures below are
docs/deployment.md's ("Capacity"); the lifetimes are parsed from the files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import DEPLOY, ROOT, find

MIB = 1024 * 1024
GIB = 1024 * MIB
# docs/deployment.md, "Capacity": the service's keys of a barely used conversation (measured),
# a 10-message transcript (estimated) and Rasa's tracker after a five-message chat (measured).
SERVICE_KEYS_KIB, TRANSCRIPT_KIB, TRACKER_KIB = 2.5, 4.0, 18.0
# The same page: a chat lasts 8 minutes on average, one Rasa replica serves about 1,000 at
# once, and about 19 % of chats are escalated and closed by an agent (417 of 2,194 in the soak).
CHAT_SECONDS = 8 * 60
CHATS_PER_RASA_REPLICA = 1000
ESCALATED = 0.19
# Redis's data may fill at most this share of maxmemory by the estimate: the rest is for queued
# and assigned chats (kept while they wait), agents' keys, and the estimates' error.
ESTIMATE_SHARE = 0.8


@dataclass(frozen=True)
class Lifetimes:
    resume: int  # RESUME_TOKEN_TTL_SECONDS: a chat with the assistant after its last write
    closed: int  # CLOSED_CONVERSATION_TTL_SECONDS: a closed chat after its last write
    tracker: int  # RASA_TRACKER_TTL_SECONDS: Rasa's tracker after the last turn


def redis_bytes_needed(concurrent_chats: int, lifetimes: Lifetimes) -> float:
    """What Redis holds in the steady state, by docs/deployment.md's arithmetic."""
    started_per_second = concurrent_chats / CHAT_SECONDS
    chat_kib = SERVICE_KEYS_KIB + TRANSCRIPT_KIB
    # Every chat's keys live its length plus its lifetime; a closed one never less than resume.
    kept_closed = max(lifetimes.closed, lifetimes.resume)
    chat_seconds = (1 - ESCALATED) * lifetimes.resume + ESCALATED * kept_closed
    kib = started_per_second * (
        (CHAT_SECONDS + chat_seconds) * chat_kib + (CHAT_SECONDS + lifetimes.tracker) * TRACKER_KIB
    )
    return kib * 1024


def quantity_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity (Mi, Gi) or compose's (M, G) in bytes."""
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi|M|G)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * {"Mi": MIB, "M": MIB, "Gi": GIB, "G": GIB}[unit]


def redis_memory_bytes(maxmemory: str) -> int:
    """redis-server's --maxmemory (its units are binary: 1mb is 1024 × 1024 bytes)."""
    number, unit = re.fullmatch(r"(\d+)(mb|gb)", maxmemory).groups()  # type: ignore[union-attr]
    return int(number) * {"mb": MIB, "gb": GIB}[unit]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


def containers(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in workload["spec"]["template"]["spec"]["containers"]}


# -- Kubernetes


def redis_start_script(resources: list) -> str:
    return find(resources, "ConfigMap", "redis-scripts")["data"]["start-redis.sh"]


def kubernetes_maxmemory(resources: list) -> int:
    """maxmemory as start-redis.sh computes it from the container's limit (downward API)."""
    redis = containers(find(resources, "StatefulSet", "redis"))["redis"]
    source = next(e for e in redis["env"] if e["name"] == "REDIS_MEMORY_LIMIT_MIB")
    field = source["valueFrom"]["resourceFieldRef"]
    assert (field["containerName"], field["resource"], field["divisor"]) == (
        "redis",
        "limits.memory",
        "1Mi",
    )
    limit_mib = quantity_bytes(redis["resources"]["limits"]["memory"]) // MIB
    script = redis_start_script(resources)
    share = re.search(r'maxmemory="\$\(\(REDIS_MEMORY_LIMIT_MIB \* (\d+) / (\d+)\)\)mb"', script)
    assert share, "start-redis.sh computes maxmemory from REDIS_MEMORY_LIMIT_MIB"
    numerator, denominator = int(share.group(1)), int(share.group(2))
    assert 0.6 <= numerator / denominator <= 0.8, "room for the AOF rewrite and replication"
    return limit_mib * numerator // denominator * MIB


def kubernetes_lifetimes(resources: list) -> Lifetimes:
    config = find(resources, "ConfigMap", "harbor-config")["data"]
    rasa = env_of(containers(find(resources, "StatefulSet", "rasa"))["rasa"])
    return Lifetimes(
        resume=int(config["RESUME_TOKEN_TTL_SECONDS"]),
        closed=int(config["CLOSED_CONVERSATION_TTL_SECONDS"]),
        tracker=int(rasa["RASA_TRACKER_TTL_SECONDS"]),
    )


def test_kubernetes_redis_caps_its_memory_and_never_evicts(resources: list) -> None:
    script = redis_start_script(resources)
    assert '--maxmemory "$maxmemory"' in script
    assert "--maxmemory-policy noeviction" in script
    redis = containers(find(resources, "StatefulSet", "redis"))["redis"]
    limit = quantity_bytes(redis["resources"]["limits"]["memory"])
    assert kubernetes_maxmemory(resources) < limit
    # Redis fills up to maxmemory: a node short of memory must not pick it to evict.
    assert redis["resources"]["requests"]["memory"] == redis["resources"]["limits"]["memory"]


def test_the_clusters_lifetimes_fit_its_redis(resources: list) -> None:
    rasa_replicas = find(resources, "StatefulSet", "rasa")["spec"]["replicas"]
    concurrent = rasa_replicas * CHATS_PER_RASA_REPLICA
    needed = redis_bytes_needed(concurrent, kubernetes_lifetimes(resources))
    available = kubernetes_maxmemory(resources)
    assert needed <= ESTIMATE_SHARE * available, (
        f"{concurrent} chats at once keep {needed / GIB:.1f} GiB in Redis; "
        f"maxmemory is {available / GIB:.1f} GiB"
    )


def test_a_tracker_lives_as_long_as_its_chat_can_be_resumed(resources: list) -> None:
    # Shorter: a returning customer finds an assistant that forgot the chat (and a verified
    # order); longer: memory spent on chats nobody can come back to.
    lifetimes = kubernetes_lifetimes(resources)
    assert lifetimes.tracker == lifetimes.resume
    endpoints = (DEPLOY / "images" / "endpoints.yml").read_text()
    assert "record_exp: ${RASA_TRACKER_TTL_SECONDS}" in endpoints
    assert "RASA_TRACKER_TTL_SECONDS=" in (DEPLOY / "images" / "rasa-entrypoint.sh").read_text()


def test_the_plan_for_10000_chats_fits_the_redis_the_docs_give_it(resources: list) -> None:
    doc = (ROOT / "docs" / "deployment.md").read_text()
    assert "limit 16Gi" in doc, "docs/deployment.md gives Redis 16Gi for 10,000 chats"
    needed = redis_bytes_needed(10_000, kubernetes_lifetimes(resources))
    assert needed <= ESTIMATE_SHARE * (16 * GIB * 3 // 4)


def test_the_default_lifetimes_would_not_fit(resources: list) -> None:
    # The check can fail: a week for chats and trackers, 30 days for closed ones, is ~40x more.
    week = Lifetimes(resume=7 * 86400, closed=30 * 86400, tracker=7 * 86400)
    rasa_replicas = find(resources, "StatefulSet", "rasa")["spec"]["replicas"]
    needed = redis_bytes_needed(rasa_replicas * CHATS_PER_RASA_REPLICA, week)
    assert needed > kubernetes_maxmemory(resources)


# -- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def compose_flag(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_compose_redis_caps_its_memory_below_its_limit_and_never_evicts(
    compose: dict[str, Any],
) -> None:
    redis = compose["services"]["redis"]
    assert compose_flag(redis["command"], "--maxmemory-policy") == "noeviction"
    maxmemory = redis_memory_bytes(compose_flag(redis["command"], "--maxmemory"))
    limit = quantity_bytes(redis["deploy"]["resources"]["limits"]["memory"])
    assert 0.6 * limit <= maxmemory <= 0.8 * limit


def test_compose_lifetimes_fit_its_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    handoff = services["handoff"]["environment"]
    rasa = services["rasa-0"]["environment"]
    closed = re.fullmatch(r"\$\{\w+:-(\d+)\}|(\d+)", handoff["CLOSED_CONVERSATION_TTL_SECONDS"])
    assert closed
    lifetimes = Lifetimes(
        resume=int(handoff["RESUME_TOKEN_TTL_SECONDS"]),
        closed=int(closed.group(1) or closed.group(2)),
        tracker=int(rasa["RASA_TRACKER_TTL_SECONDS"]),
    )
    assert lifetimes.tracker == lifetimes.resume
    rasa_replicas = handoff["RASA_URLS"].count(",") + 1
    needed = redis_bytes_needed(rasa_replicas * CHATS_PER_RASA_REPLICA, lifetimes)
    maxmemory = redis_memory_bytes(compose_flag(services["redis"]["command"], "--maxmemory"))
    assert needed <= ESTIMATE_SHARE * maxmemory
