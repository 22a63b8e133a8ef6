"""The building blocks of the service's settings (handoff/settings.py): how a value is read
from an environment variable (`env`, one default each), secrets that never print, and the
composite types a variable can hold (comma-separated lists, URLs, a command line)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr
from pydantic_core import PydanticUndefined


class Secret(SecretStr):
    """A string that shows as '**********' in logs, reprs and tracebacks; `reveal()` reads it."""

    def reveal(self) -> str:
        return self.get_secret_value()


@dataclass(frozen=True)
class SecretFile:
    """Marks a secret that may come from NAME_FILE, else this file under HARBOR_VAR_DIR."""

    name: str


def _split(value: Any) -> Any:
    """A comma-separated variable as a tuple; values given in code pass through."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _command(value: Any) -> Any:
    """A command line (program and leading arguments) from a variable, split like a shell."""
    if not isinstance(value, str):
        return value
    try:
        parts = tuple(shlex.split(value))
    except ValueError as error:
        raise ValueError(f"is not a valid command line: {error}") from None
    if not parts or not parts[0]:
        raise ValueError("must name a program")
    if len(parts) == 1 and Path(parts[0]).name.startswith("python"):
        # The Rasa environment's interpreter alone: run the project's FAQ tool with it.
        parts = (*parts, "-m", "bot", "faq")
    return parts


Url = Annotated[str, AfterValidator(lambda url: url.rstrip("/"))]
Names = Annotated[tuple[str, ...], BeforeValidator(_split)]
Urls = Annotated[tuple[Url, ...], BeforeValidator(_split)]
Command = Annotated[tuple[str, ...], BeforeValidator(_command)]


def env(
    name: str,
    default: Any = PydanticUndefined,
    *,
    factory: Callable[[dict[str, Any]], Any] | None = None,
    **constraints: Any,
) -> Any:
    """A setting read from the variable `name`, with its one default: a value, or a `factory`
    computing it from the settings defined above it (whether from the environment or code)."""
    if factory is not None:
        return Field(default_factory=factory, validation_alias=name, **constraints)
    return Field(default, validation_alias=name, **constraints)
