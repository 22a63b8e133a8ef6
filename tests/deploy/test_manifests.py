"""The Kubernetes manifests (deploy/kubernetes/): valid for the target Kubernetes versions
offline, probes on the real health endpoints and ports, Rasa's pods named as RASA_URLS lists
them, only real settings given to the service, resources set, the service autoscaled and
protected by a disruption budget, secrets only from Secrets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from handoff.settings import Settings
from tests.deploy.conftest import KUBERNETES, ROOT, find, manifest_files

# The oldest Kubernetes still supported upstream when written, and the newest the validator knows.
TARGETS = ("1.31.0", "1.34.0")
VALIDATE = Path(sys.executable).parent / "kubernetes-validate"


@pytest.mark.parametrize("version", TARGETS)
def test_kubernetes_validate_strict(version: str) -> None:
    files = [str(path) for path in manifest_files()]
    done = subprocess.run(
        [str(VALIDATE), "--strict", "--quiet", "-k", version, *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod_spec(workload)["containers"] if c["name"] == name)


def port_number(container_: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container_["ports"] if p["name"] == port)


# kind, workload, container: (path, port) of its real health endpoint by probe (tests/deploy/
# test_images.py checks where each is defined); a path alone serves every probe.
HTTP_HEALTH: dict[tuple[str, str, str], tuple[str | dict[str, str], int]] = {
    # Alive is not ready: a replica cut off from Redis stays up (it recovers by itself) but
    # leaves the load balancer (/readyz, handoff/web/health.py).
    ("Deployment", "handoff", "handoff"): (
        {"startupProbe": "/livez", "readinessProbe": "/readyz", "livenessProbe": "/livez"},
        8080,
    ),
    ("StatefulSet", "rasa", "rasa"): ("/", 5005),
    ("Deployment", "actions", "actions"): ("/health", 5055),
}


@pytest.mark.parametrize("where", sorted(HTTP_HEALTH), ids=lambda w: w[1])
def test_probes_ask_the_real_endpoint_on_the_real_port(resources: list, where: tuple) -> None:
    kind, name, container_name = where
    paths, port = HTTP_HEALTH[where]
    spec = container(find(resources, kind, name), container_name)
    assert "readinessProbe" in spec and "livenessProbe" in spec
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if probe in spec:
            http = spec[probe]["httpGet"]
            path = paths if isinstance(paths, str) else paths[probe]
            assert http["path"] == path, (name, probe)
            assert port_number(spec, http["port"]) == port, (name, probe)


def test_the_services_probe_paths_are_routed() -> None:
    routes = (ROOT / "handoff" / "app.py").read_text()
    for path in ("/livez", "/readyz"):
        assert f'web.get("{path}"' in routes, path


def test_the_nlg_sidecar_is_probed_on_loopback(resources: list) -> None:
    # bot/nlg_server.py binds 127.0.0.1 only: kubelet cannot reach it, so the probe runs inside.
    nlg = container(find(resources, "StatefulSet", "rasa"), "nlg")
    for probe in ("readinessProbe", "livenessProbe"):
        assert "http://127.0.0.1:5056/health" in " ".join(nlg[probe]["exec"]["command"])
    source = Path(__file__).resolve().parents[2] / "bot" / "nlg_server.py"
    assert 'host="127.0.0.1"' in source.read_text()


def config(resources: list) -> dict[str, str]:
    return find(resources, "ConfigMap", "harbor-config")["data"]


def test_rasa_urls_name_every_rasa_pod_in_order(resources: list) -> None:
    rasa = find(resources, "StatefulSet", "rasa")
    service = find(resources, "Service", rasa["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None", "Rasa's Service must be headless"
    port = port_number(container(rasa, "rasa"), "http")
    expected = [
        f"http://{rasa['metadata']['name']}-{ordinal}.{service['metadata']['name']}:{port}"
        for ordinal in range(rasa["spec"]["replicas"])
    ]
    assert config(resources)["RASA_URLS"].split(",") == expected


def test_bot_turns_in_flight_shares_32_per_rasa_replica(resources: list) -> None:
    # docs/reliability.md "Overload": with N service replicas set it to about 32 / N.
    handoff = find(resources, "Deployment", "handoff")
    per_replica = int(config(resources)["BOT_TURNS_IN_FLIGHT"])
    assert 24 <= per_replica * handoff["spec"]["replicas"] <= 40


SETTINGS = {str(field.validation_alias) for field in Settings.model_fields.values()}
# A secret setting may come from NAME_FILE (handoff/settings.py SecretFile).
SETTINGS |= {f"{name}_FILE" for name in ("RASA_TOKEN", "HANDOFF_SECRET")}


def test_the_service_gets_only_real_settings(resources: list) -> None:
    handoff = container(find(resources, "Deployment", "handoff"), "handoff")
    given = {item["name"] for item in handoff["env"]} | set(config(resources))
    assert given - SETTINGS == set(), "not settings of the handoff service"


SECRET_LIKE = re.compile(r"SECRET|TOKEN|PASSWORD|DATABASE_URL|REDIS_URL")


def secret_like(name: str) -> bool:
    # A lifetime (RESUME_TOKEN_TTL_SECONDS) names a token without being one.
    return SECRET_LIKE.search(name) is not None and not name.endswith("_SECONDS")


def test_secrets_come_only_from_secrets(resources: list) -> None:
    for item in resources:
        if item["kind"] == "Secret":
            pytest.fail("a Secret is committed; the operator creates harbor-secrets")
        if item["kind"] == "ConfigMap":
            assert not [key for key in item["data"] if secret_like(key)], item
        if item["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for spec in pod_spec(item)["containers"]:
            for env in spec.get("env", []):
                if secret_like(env["name"]) and not env["name"].endswith("_FILE"):
                    assert "secretKeyRef" in env.get("valueFrom", {}), (spec["name"], env)


def test_every_container_has_requests_and_limits(resources: list) -> None:
    for item in resources:
        if item["kind"] in ("Deployment", "StatefulSet"):
            for spec in pod_spec(item)["containers"]:
                for bound in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(spec["resources"][bound]), spec["name"]


def test_pods_run_as_non_root(resources: list) -> None:
    for item in resources:
        if item["kind"] in ("Deployment", "StatefulSet"):
            context = pod_spec(item)["securityContext"]
            assert context["runAsNonRoot"] is True and context["runAsUser"] != 0
            for spec in pod_spec(item)["containers"]:
                assert spec["securityContext"]["allowPrivilegeEscalation"] is False


def test_the_service_scales_and_keeps_replicas_through_disruptions(resources: list) -> None:
    handoff = find(resources, "Deployment", "handoff")
    labels = handoff["spec"]["selector"]["matchLabels"]
    autoscaler = find(resources, "HorizontalPodAutoscaler", "handoff")
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "handoff"
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert autoscaler["spec"]["minReplicas"] <= handoff["spec"]["replicas"]
    budget = find(resources, "PodDisruptionBudget", "handoff")
    assert budget["spec"]["selector"]["matchLabels"] == labels
    assert budget["spec"].get("maxUnavailable") == 1


def test_rasa_is_not_autoscaled(resources: list) -> None:
    # Its replica count is fixed together with RASA_URLS.
    targets = [
        r["spec"]["scaleTargetRef"]["name"] for r in resources if r["kind"].startswith("Horiz")
    ]
    assert "rasa" not in targets


def test_kustomization_lists_every_manifest() -> None:
    on_disk = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == {p.name for p in manifest_files()}


def allowed_sources(policy: dict[str, Any]) -> tuple[set[str], set[int]]:
    """The pod names (app.kubernetes.io/name) and ports a NetworkPolicy's ingress lets in."""
    names: set[str] = set()
    ports: set[int] = set()
    for rule in policy["spec"]["ingress"]:
        ports |= {port["port"] for port in rule["ports"]}
        for source in rule["from"]:
            assert set(source) == {"podSelector"}, "only pods of this namespace, by name"
            (expression,) = source["podSelector"]["matchExpressions"]
            assert (expression["key"], expression["operator"]) == ("app.kubernetes.io/name", "In")
            names |= set(expression["values"])
    return names, ports


def redis_clients(resources: list) -> set[str]:
    """The workloads whose containers are given a Redis address (by env or harbor-config)."""
    clients = set()
    for item in resources:
        if item["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for spec in pod_spec(item)["containers"]:
            named = {env["name"] for env in spec.get("env", [])}
            from_config = any("configMapRef" in source for source in spec.get("envFrom", []))
            if named & {"REDIS_URL", "REDIS_HOST", "REDIS_SENTINELS"} or from_config:
                clients.add(item["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"])
    return clients


def test_only_the_pods_that_use_redis_reach_redis_and_its_sentinels(resources: list) -> None:
    redis = find(resources, "StatefulSet", "redis")
    policy = find(resources, "NetworkPolicy", "redis")
    assert policy["spec"]["podSelector"]["matchLabels"] == redis["spec"]["selector"]["matchLabels"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    names, ports = allowed_sources(policy)
    redis_ports = {port_number(container(redis, c), c) for c in ("redis", "sentinel")}
    assert ports == redis_ports == {6379, 26379}
    # Every client gets in; besides them only Redis itself and HAProxy, nothing else.
    assert redis_clients(resources) <= names
    assert names - redis_clients(resources) == {"redis", "redis-master"}
    assert "actions" not in names


def test_only_redis_clients_reach_the_master_proxy(resources: list) -> None:
    proxy = find(resources, "Deployment", "redis-master")
    policy = find(resources, "NetworkPolicy", "redis-master")
    assert policy["spec"]["podSelector"]["matchLabels"] == proxy["spec"]["selector"]["matchLabels"]
    names, ports = allowed_sources(policy)
    assert ports == {port_number(container(proxy, "haproxy"), "redis")}
    assert names == redis_clients(resources) - {"redis-master"}
