"""Audit the pinned packages of both environments against known advisories on PyPI.

    python scripts/audit.py [lock files...]      (default: requirements/*-lock*.txt)

PyPI publishes the advisories of the Python Packaging Advisory Database (the data pip-audit's
default service uses) in its JSON API, in a `vulnerabilities` field:

- `https://pypi.org/pypi/<name>/<version>/json` lists the advisories affecting that exact
  release; this is used when it is reachable.
- `https://pypi.org/pypi/<name>/json` lists those affecting the newest release. Where only this
  one is reachable (behind a registry proxy, for example), a pin on the newest release is fully
  audited, and a pin behind it is reported as such: its advisories cannot be looked up.

Each package is looked up once, one request at a time. The report is Markdown on stdout.
Exit status 1 when a pin of the handoff environment has an advisory that a newer release
fixes (it can be patched: refresh the lock), else 0.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;#]+)")
TIMEOUT = 20


@dataclass
class Finding:
    name: str
    pinned: str
    latest: str = ""
    # Advisories known to affect the pinned release (when they could be looked up).
    advisories: list[dict[str, Any]] = field(default_factory=list)
    status: str = ""  # audited | behind | unknown


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path) -> dict[str, str]:
    found = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[normalise(match.group(1))] = match.group(2)
    return found


def fetch(url: str) -> dict[str, Any] | None:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            data = json.loads(response.read())
            return data if isinstance(data, dict) else None
    except (urllib.error.URLError, TimeoutError, ValueError):
        return None


def per_release_reachable() -> bool:
    """Whether the registry answers for a given release (pip's own pin is the probe)."""
    return fetch("https://pypi.org/pypi/pip/24.3.1/json") is not None


class Registry:
    def __init__(self, per_release: bool) -> None:
        self.per_release = per_release
        self.projects: dict[str, dict[str, Any] | None] = {}

    def project(self, name: str) -> dict[str, Any] | None:
        if name not in self.projects:
            self.projects[name] = fetch(f"https://pypi.org/pypi/{name}/json")
        return self.projects[name]

    def audit(self, name: str, pinned: str) -> Finding:
        finding = Finding(name, pinned)
        project = self.project(name)
        if project is not None:
            finding.latest = str(project.get("info", {}).get("version", ""))
        if self.per_release:
            release = fetch(f"https://pypi.org/pypi/{name}/{pinned}/json")
            if release is not None:
                finding.advisories = list(release.get("vulnerabilities") or [])
                finding.status = "audited"
                return finding
        if project is None:
            finding.status = "unknown"
        elif finding.latest == pinned:
            finding.advisories = list(project.get("vulnerabilities") or [])
            finding.status = "audited"
        else:
            finding.status = "behind"
        return finding


def describe(advisory: dict[str, Any]) -> str:
    ids = [str(advisory.get("id", ""))] + [str(a) for a in advisory.get("aliases") or []]
    fixed = ", ".join(advisory.get("fixed_in") or []) or "no fix released"
    return f"{' / '.join(i for i in ids if i)} (fixed in {fixed})"


def report(lock: Path, findings: list[Finding]) -> list[str]:
    audited = [f for f in findings if f.status == "audited"]
    affected = [f for f in audited if f.advisories]
    behind = [f for f in findings if f.status == "behind"]
    unknown = [f for f in findings if f.status == "unknown"]
    lines = [
        f"## {lock.relative_to(ROOT)}",
        "",
        f"{len(findings)} pins: {len(audited)} audited, {len(affected)} with known advisories, "
        f"{len(behind)} behind the newest release (not verifiable here), "
        f"{len(unknown)} not found.",
        "",
    ]
    if affected:
        lines += ["| package | pinned | newest | advisories |", "|---|---|---|---|"]
        for f in affected:
            text = "; ".join(describe(a) for a in f.advisories)
            lines.append(f"| {f.name} | {f.pinned} | {f.latest} | {text} |")
        lines.append("")
    if behind:
        lines.append(
            "Behind the newest release: "
            + ", ".join(f"{f.name} {f.pinned} (newest {f.latest})" for f in behind)
            + "."
        )
        lines.append("")
    if unknown:
        lines.append("Not found on the registry: " + ", ".join(f.name for f in unknown) + ".")
        lines.append("")
    return lines


def main(argv: list[str]) -> int:
    locks = [Path(a).resolve() for a in argv] or sorted(ROOT.glob("requirements/*-lock*.txt"))
    per_release = per_release_reachable()
    registry = Registry(per_release)
    mode = (
        "per-release advisories (https://pypi.org/pypi/<name>/<version>/json)"
        if per_release
        else "newest-release advisories only (https://pypi.org/pypi/<name>/json); "
        "the per-release endpoint is not reachable from here"
    )
    out = ["# Dependency audit", "", f"Source: PyPI's `vulnerabilities` field, {mode}.", ""]
    patchable = 0
    for lock in locks:
        findings = [registry.audit(name, version) for name, version in sorted(pins(lock).items())]
        out += report(lock, findings)
        if lock.name.startswith("app-"):
            patchable += sum(
                1
                for f in findings
                for a in f.advisories
                if a.get("fixed_in") and f.latest and f.latest != f.pinned
            )
    print("\n".join(out))
    if patchable:
        print(f"{patchable} advisories in the handoff environment have a fixed release: refresh")
        print("its lock (LOCK_REFRESH=1 scripts/venv.sh app).")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
