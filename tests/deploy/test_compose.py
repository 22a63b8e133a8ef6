"""The one-host compose file (deploy/compose.yaml): valid against the Compose Specification's
schema (vendored in tests/deploy/schemas, Apache-2.0, as docker compose checks it), and
consistent with the images and the service's settings."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from handoff.settings import Settings
from tests.deploy.conftest import DEPLOY, ROOT

SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_file_matches_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose()), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_fails_on_a_broken_file() -> None:
    broken = compose()
    broken["services"]["handoff"]["ports"] = "8080"  # a list is required
    schema = json.loads(SCHEMA.read_text())
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_builds_name_existing_dockerfiles_from_the_repository() -> None:
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert context == ROOT, name
            assert (context / build["dockerfile"]).exists(), name


def test_rasa_urls_name_the_rasa_services() -> None:
    services = compose()["services"]
    urls = services["handoff"]["environment"]["RASA_URLS"].split(",")
    for url in urls:
        host = url.split("//")[1].split(":")[0]
        assert services[host]["image"].startswith("harbor/rasa"), url
    # each Rasa server has its NLG server in its network namespace (it binds loopback)
    for url in urls:
        host = url.split("//")[1].split(":")[0]
        assert any(s.get("network_mode") == f"service:{host}" for s in services.values()), host


def test_the_service_gets_only_real_settings() -> None:
    known = {str(field.validation_alias) for field in Settings.model_fields.values()}
    known |= {"RASA_TOKEN_FILE", "HANDOFF_SECRET_FILE"}
    given = set(compose()["services"]["handoff"]["environment"])
    assert given - known == set()
