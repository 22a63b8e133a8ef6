"""The container images' Dockerfiles (deploy/images/): lint-clean, non-root, with a health check
on a real endpoint, starting a module that exists, built only from committed files, and with
runtime requirements that cover what the code imports at the versions the locks pin."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.deploy.conftest import DOCKERFILES, IMAGES, PARTS, ROOT

HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    steps = instructions(dockerfile)
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_one_image_per_part() -> None:
    assert sorted(p.name for p in DOCKERFILES) == sorted(f"{part}.Dockerfile" for part in PARTS)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.stem)
def test_hadolint_is_clean(dockerfile: Path) -> None:
    done = subprocess.run(
        [str(HADOLINT), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.stem)
def test_runs_as_a_user_other_than_root(dockerfile: Path) -> None:
    users = [args for word, args in final_stage(dockerfile) if word == "USER"]
    assert users, f"{dockerfile.name}: the runtime stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"{dockerfile.name}: USER {users[-1]}"


# What each image's health check asks, and where that endpoint is defined.
HEALTH = {
    "handoff": ("/livez", ROOT / "handoff" / "app.py", 'web.get("/livez"'),
    "nlg": ("/health", ROOT / "bot" / "nlg_server.py", 'add_get("/health"'),
    "actions": ("/health", None, None),  # rasa_sdk's own endpoint (rasa_sdk/endpoint.py)
    "rasa": ("/", None, None),  # Rasa's root answers "Hello from Rasa" without the token
}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.stem)
def test_health_check_asks_a_real_endpoint(dockerfile: Path) -> None:
    checks = [args for word, args in final_stage(dockerfile) if word == "HEALTHCHECK"]
    assert len(checks) == 1, f"{dockerfile.name}: one HEALTHCHECK in the runtime stage"
    path, source, marker = HEALTH[dockerfile.stem]
    assert re.search(r"127\.0\.0\.1:%s" + re.escape(path) + "'", checks[0]), checks[0]
    if source is not None:
        assert marker in source.read_text()


def test_the_action_servers_health_endpoint_is_rasa_sdks() -> None:
    import importlib.util

    spec = importlib.util.find_spec("rasa_sdk")
    rasa_env = ROOT / ".venv-rasa"
    endpoint = next(rasa_env.glob("lib/python3*/site-packages/rasa_sdk/endpoint.py"), None)
    if endpoint is None and spec is None:
        pytest.skip("the Rasa environment is not built")
    assert endpoint is not None
    assert '@app.get("/health")' in endpoint.read_text()


def entry_module(dockerfile: Path) -> str:
    entry = [args for word, args in final_stage(dockerfile) if word == "ENTRYPOINT"][-1]
    command = " ".join(json.loads(entry))
    script = re.search(r"/app/(deploy/\S+\.sh)", command)
    if script:  # the Rasa image starts through its entrypoint script
        source = {"deploy/rasa-entrypoint.sh": IMAGES / "rasa-entrypoint.sh"}[script.group(1)]
        command = source.read_text()
    return re.search(r"python -m (\S+)", command).group(1)  # type: ignore[union-attr]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.stem)
def test_entrypoint_starts_a_module_that_exists(dockerfile: Path) -> None:
    module = entry_module(dockerfile)
    if module == "rasa_sdk":  # the action server: rasa_sdk serving the project's actions/
        assert "--actions actions" in dockerfile.read_text()
        assert (ROOT / "actions" / "__init__.py").exists()
        return
    path = ROOT / Path(*module.split("."))
    assert path.with_suffix(".py").exists() or (path / "__main__.py").exists(), module


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.stem)
def test_copies_only_committed_files(dockerfile: Path) -> None:
    for word, args in instructions(dockerfile):
        if word != "COPY" or "--from=" in args:
            continue
        *sources, _target = args.split()
        for source in sources:
            assert (ROOT / source).exists(), f"{dockerfile.name}: COPY {source}: no such file"


def test_rasa_image_trains_the_model_with_the_projects_command() -> None:
    text = (IMAGES / "rasa.Dockerfile").read_text()
    assert "RUN python -m bot.model" in text
    assert "COPY --from=model /src/models/ models/" in text


def lock_pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[canonical(name)] = version.strip()
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


RUNTIME_LOCKS = {
    "handoff-runtime.txt": "app-lock.txt",
    "encoder-build.txt": "app-lock.txt",
    "rasa-runtime.txt": "rasa-lock.txt",
    "actions-runtime.txt": "rasa-lock.txt",
}


def requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


@pytest.mark.parametrize("listing", sorted(RUNTIME_LOCKS))
def test_runtime_requirements_are_pinned_by_the_projects_lock(listing: str) -> None:
    pins = lock_pins(ROOT / "requirements" / RUNTIME_LOCKS[listing])
    for requirement in requirements(IMAGES / listing):
        name = canonical(requirement.name)
        assert name in pins, f"{listing}: {requirement.name} is not in {RUNTIME_LOCKS[listing]}"
        assert requirement.specifier.contains(pins[name]), (listing, requirement, pins[name])


# Run only in a build stage (encoder-build.txt): the ONNX graph is built there, not at run time.
BUILD_ONLY = {ROOT / "understanding" / "graph.py"}


def third_party_imports(folders: list[str]) -> set[str]:
    found: set[str] = set()
    for folder in folders:
        for path in sorted(set((ROOT / folder).rglob("*.py")) - BUILD_ONLY):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    local = {p.name for p in ROOT.iterdir() if p.is_dir()}
    return {name for name in found - local - set(sys.stdlib_module_names) if name != "__future__"}


def closure(names: list[str]) -> set[str]:
    """The distributions these need, with everything they depend on (installed metadata)."""
    seen: set[str] = set()
    todo = [canonical(name) for name in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonical(requirement.name))
    return seen


def test_handoff_runtime_covers_every_import_of_the_service() -> None:
    listed = [r.name for r in requirements(IMAGES / "handoff-runtime.txt")]
    installed = closure(listed)
    providers = metadata.packages_distributions()
    missing = {
        module: providers.get(module)
        for module in third_party_imports(["handoff", "orders", "understanding", "vocabulary"])
        if not {canonical(d) for d in providers.get(module, [])} & installed
    }
    assert not missing, f"imported by the service, not in handoff-runtime.txt: {missing}"
