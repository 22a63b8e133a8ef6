"""Customers' email replies over TLS: with INBOUND_SMTP_LISTEN=smtp+starttls://… the service's
inbound server offers STARTTLS, takes a reply sent over it into the conversation, and refuses
(530) a sender that does not upgrade, so a reply never crosses the network in clear text. A
STARTTLS address without a certificate stops the service at start-up, rather than taking mail
in clear text. Real SMTP both ways (aiosmtplib to aiosmtpd), a real Redis, a certificate made by
openssl for the test."""

from __future__ import annotations

import subprocess
import time
from email.message import EmailMessage

import aiosmtplib
import pytest

from handoff.email.addresses import reply_address
from handoff.email.service import INBOUND_ADDRESS
from handoff.email.smtp_url import InboundListen, parse_inbound_listen
from handoff.state import app_state
from tests.app.conftest import SECRET, AppFactory
from tests.support import polling

DOMAIN = "reply.test"
CUSTOMER = "kit@example.com"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    made = ["-subj", f"/CN={DOMAIN}", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *made],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def reply_mail(to: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Kit <{CUSTOMER}>"
    message["To"] = to
    message["Subject"] = "Re: Your conversation"
    message["Message-ID"] = f"<{time.monotonic_ns()}@example.com>"
    message.set_content(text)
    return message


def test_the_listen_address_is_read_as_a_url_or_host_and_port() -> None:
    assert parse_inbound_listen("off") is None
    assert parse_inbound_listen("0.0.0.0:2525") == InboundListen("0.0.0.0", 2525)  # noqa: S104
    assert parse_inbound_listen("smtp://mx.internal") == InboundListen("mx.internal", 25)
    assert parse_inbound_listen("smtp+starttls://[::1]:2525") == InboundListen("::1", 2525, True)
    for wrong in ("smtps://h:465", "smtp://user@h:25", "smtp://h:25/x", "h", "smtp://h:99999"):
        with pytest.raises(ValueError, match="INBOUND_SMTP_LISTEN"):
            parse_inbound_listen(wrong)


async def test_a_reply_over_starttls_is_taken_and_clear_text_is_refused(
    make_client: AppFactory, certificate: tuple[str, str]
) -> None:
    cert, key = certificate
    client = await make_client(
        inbound_smtp="smtp+starttls://127.0.0.1:0",
        inbound_tls_cert=cert,
        inbound_tls_key=key,
        reply_domain=DOMAIN,
    )
    state = app_state(client.app)
    host, port = client.app[INBOUND_ADDRESS]
    cid = await state.store.create("support", lifetime=3600, max_entries=100)
    await state.store.set_fields(cid, {"customer_email": CUSTOMER})
    to = reply_address(SECRET, DOMAIN, cid, CUSTOMER)

    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await aiosmtplib.send(
            reply_mail(to, "in clear text"), hostname=host, port=port, start_tls=False
        )
    assert refused.value.code == 530

    await aiosmtplib.send(
        reply_mail(to, "Over TLS, thanks."),
        hostname=host,
        port=port,
        start_tls=True,
        validate_certs=False,  # the test's own certificate
    )

    async def customer_texts() -> list[str]:
        entries = await state.store.read_all(cid)
        return [e.text for e in entries if e.kind == "message" and e.sender == "customer"]

    async def taken() -> bool:
        return "Over TLS, thanks." in await customer_texts()

    await polling.until(taken)
    assert "in clear text" not in await customer_texts()


async def test_starttls_without_a_certificate_stops_the_service_at_start_up(
    make_client: AppFactory,
) -> None:
    with pytest.raises(ValueError, match="INBOUND_TLS_CERT_FILE"):
        await make_client(inbound_smtp="smtp+starttls://127.0.0.1:0", reply_domain=DOMAIN)
