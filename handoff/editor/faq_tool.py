"""The project's FAQ tool (`bot faq <command> --json --actor <user>`), run as a subprocess.

The service never writes the assistant's YAML itself: every read and change of a topic runs this
tool and passes its answer on, including its editor-readable error messages, so the page, the
command line and the audit log all go through one piece of code. A refusal or failure of the
tool is a `FaqToolError` carrying the HTTP status and JSON body the page receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handoff.settings import ROOT, Settings

# Environment variables only the handoff service itself needs.
SERVICE_SECRETS = frozenset(
    {"HANDOFF_SECRET", "HANDOFF_SECRET_FILE", "HANDOFF_BOOTSTRAP_ADMIN_PASSWORD"}
)


class FaqToolError(Exception):
    """The FAQ tool refused or failed; `status` and `body` are what the page receives."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def faq_error(status: int, code: str, message: str, **extra: Any) -> FaqToolError:
    return FaqToolError(status, {"error": code, "message": message, **extra})


# HTTP status of a refusal, by the tool's first error code.
_STATUS_BY_CODE = {
    "unknown_topic": 404,
    "topic_exists": 409,
    "publish_running": 409,
    "publish_in_progress": 409,
}


@dataclass(frozen=True)
class FaqTool:
    """The project's FAQ command line, run as a subprocess with the service's environment."""

    command: tuple[str, ...]
    project: Path
    var_dir: Path
    rasa_urls: tuple[str, ...]
    rasa_token: str
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> FaqTool:
        return cls(
            command=settings.faq_cli,
            project=settings.faq_project_dir,
            var_dir=settings.var_dir,
            rasa_urls=settings.rasa_urls,
            rasa_token=settings.rasa_token.reveal(),
            timeout=settings.faq_command_timeout,
        )

    def argv(
        self, command: str, actor: str, options: Sequence[str] = (), key: str | None = None
    ) -> list[str]:
        """The tool's command line. Values go as `--option=value` and the key after `--`, so a
        phrasing that starts with a dash is text, never an option."""
        argv = [*self.command, command, "--json", f"--actor={actor}", f"--project={self.project}"]
        argv.extend(options)
        if key is not None:
            argv.extend(["--", key])
        return argv

    def environment(self) -> dict[str, str]:
        # The tool needs none of the service's own secrets.
        env = {k: v for k, v in os.environ.items() if k not in SERVICE_SECRETS}
        # The tool finds the same Rasa servers, token and audit log as this service.
        env["HARBOR_VAR_DIR"] = str(self.var_dir)
        env["FAQ_PROJECT_DIR"] = str(self.project)
        env["RASA_URLS"] = ",".join(self.rasa_urls)
        if self.rasa_token:
            env["RASA_TOKEN"] = self.rasa_token
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    async def _spawn(self, argv: list[str]) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                *argv,
                cwd=str(ROOT),
                env=self.environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as error:
            raise faq_error(
                503,
                "faq_tool_missing",
                f"The FAQ tool could not be started ({self.command[0]}: {error.strerror}). "
                "Check FAQ_CLI.",
            ) from None

    async def run(
        self, command: str, actor: str, options: Sequence[str] = (), key: str | None = None
    ) -> dict[str, Any]:
        """Run a one-answer command; its JSON object if ok, else FaqToolError."""
        process = await self._spawn(self.argv(command, actor, options, key))
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), self.timeout)
        except asyncio.TimeoutError:
            _kill(process)
            await process.wait()
            raise faq_error(
                504, "faq_tool_timeout", f"The FAQ tool did not finish `{command}` in time."
            ) from None
        except asyncio.CancelledError:
            # The request went away (the editor closed the page, or the service is shutting
            # down): the tool's answer has nobody to go to, so it is not left running.
            _kill(process)
            raise
        answer = _last_json_object(stdout.decode(errors="replace"))
        if answer is None or process.returncode == 2:
            raise faq_error(
                502,
                "faq_tool_failed",
                f"The FAQ tool failed on `{command}`: {_tail(stderr) or 'no answer'}",
            )
        if answer.get("ok") is True and process.returncode == 0:
            return answer
        errors = answer.get("errors") if isinstance(answer.get("errors"), list) else []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        raise FaqToolError(
            _STATUS_BY_CODE.get(str(first.get("code")), 422),
            {
                "error": str(first.get("code") or "refused"),
                "message": str(first.get("message") or "The FAQ tool refused the change."),
                "errors": errors,
            },
        )

    async def stream(self, command: str, actor: str) -> AsyncIterator[dict[str, Any]]:
        """Run publish or rollback, yielding its JSON-lines events; the last one is `done`."""
        process = await self._spawn(self.argv(command, actor))
        assert process.stdout is not None and process.stderr is not None
        stderr_task = asyncio.create_task(process.stderr.read())
        done: dict[str, Any] | None = None
        try:
            async for raw in process.stdout:
                line = raw.decode(errors="replace").strip()
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a stray log line, not an event
                if not isinstance(event, dict):
                    continue
                if event.get("event") == "done":
                    done = event
                yield event
            await process.wait()
        finally:
            if process.returncode is None:
                _kill(process)
                with contextlib.suppress(Exception):
                    await process.wait()
            stderr = b""
            with contextlib.suppress(Exception):
                stderr = await stderr_task
        if done is None:
            yield {
                "event": "done",
                "ok": False,
                "errors": [
                    {
                        "code": "faq_tool_failed",
                        "message": f"The {command} stopped without a result: "
                        f"{_tail(stderr) or f'exit code {process.returncode}'}",
                    }
                ],
            }


def _kill(process: asyncio.subprocess.Process) -> None:
    # The tool runs in its own session; its children (rasa train) go with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, 15)


def _tail(stderr: bytes, lines: int = 3) -> str:
    text = stderr.decode(errors="replace").strip().splitlines()
    return " ".join(line.strip() for line in text[-lines:])[:600]


def _last_json_object(stdout: str) -> dict[str, Any] | None:
    """The tool prints one JSON object; tolerate log lines printed before it."""
    with contextlib.suppress(ValueError):
        whole = json.loads(stdout)
        if isinstance(whole, dict):
            return whole
    for line in reversed(stdout.strip().splitlines()):
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                return value
    return None
