"""The Rasa server as the handoff service sees it: an HTTP peer on loopback, behind a token.

With several Rasa replicas, a conversation always goes to the same one (a stable hash of its id),
because Rasa Open Source's Redis lock store only serialises messages inside one replica.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

import aiohttp


class BotUnavailable(Exception):
    """Rasa did not answer in time, or answered with an error."""


@dataclass(frozen=True)
class BotReply:
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    custom: dict[str, Any] | None = None


def replica_for(cid: str, urls: tuple[str, ...]) -> str:
    digest = hashlib.sha256(cid.encode()).digest()
    return urls[int.from_bytes(digest[:8], "big") % len(urls)]


class RasaClient:
    def __init__(
        self, session: aiohttp.ClientSession, urls: tuple[str, ...], token: str, timeout: float
    ) -> None:
        if not urls:
            raise ValueError("at least one Rasa URL is needed")
        self.session = session
        self.urls = urls
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    def _params(self) -> dict[str, str]:
        return {"token": self.token} if self.token else {}

    async def send(self, cid: str, text: str) -> list[BotReply]:
        url = f"{replica_for(cid, self.urls)}/webhooks/rest/webhook"
        # No `metadata`: nothing in the assistant reads it, and Rasa answered a turn that
        # carried {"message_id": …} 6-14 ms slower (bench/results/2026-12-06-serving-profile.md).
        body = {"sender": cid, "message": text}
        try:
            async with self.session.post(url, json=body, timeout=self.timeout) as response:
                if response.status != 200:
                    raise BotUnavailable(f"Rasa answered HTTP {response.status}")
                payload = await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise BotUnavailable(str(error) or type(error).__name__) from error
        replies: list[BotReply] = []
        for item in payload if isinstance(payload, list) else []:
            if not isinstance(item, dict):
                continue
            buttons = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in item.get("buttons") or []
                if isinstance(b, dict)
            ]
            custom = item.get("custom") if isinstance(item.get("custom"), dict) else None
            replies.append(
                BotReply(text=str(item.get("text") or ""), buttons=buttons, custom=custom)
            )
        return replies

    async def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any] | None:
        """A JSON object from Rasa's HTTP API (with the token), or None if unavailable."""
        try:
            async with self.session.request(
                method, url, params=self._params(), timeout=self.timeout, **kwargs
            ) as response:
                if response.status != 200:
                    return None
                data = await response.json(content_type=None)
                return data if isinstance(data, dict) else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None

    async def tracker(self, cid: str) -> dict[str, Any] | None:
        """The conversation's Rasa tracker (intents, confidences, slots), or None if unavailable."""
        return await self._json("GET", f"{replica_for(cid, self.urls)}/conversations/{cid}/tracker")

    async def parse(self, text: str) -> dict[str, Any] | None:
        """NLU parse of a text (intent ranking and FAQ answer ranking), or None."""
        return await self._json("POST", f"{self.urls[0]}/model/parse", json={"text": text})

    async def domain(self) -> dict[str, Any] | None:
        """The domain of the model Rasa serves (its responses included), or None."""
        return await self._json(
            "GET", f"{self.urls[0]}/domain", headers={"Accept": "application/json"}
        )

    async def healthy(self) -> bool:
        for url in self.urls:
            try:
                async with self.session.get(
                    f"{url}/status", params=self._params(), timeout=aiohttp.ClientTimeout(total=2)
                ) as response:
                    if response.status != 200:
                        return False
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return False
        return True
