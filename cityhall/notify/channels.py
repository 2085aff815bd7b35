"""Channel adapters: MQTT (QoS 1), signed webhooks (HMAC-SHA256) and e-mail (SMTP)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

import httpx
import paho.mqtt.client as mqtt

from cityhall.mqtt import connect, make_client
from cityhall.notify.messages import html_body, utc_text
from cityhall.settings import Settings

SIGNATURE_HEADER = "X-CityHall-Signature"
TIMESTAMP_HEADER = "X-CityHall-Timestamp"
DELIVERY_HEADER = "X-CityHall-Delivery"
REPLAY_TOLERANCE_S = 300


class ChannelError(Exception):
    """A send failed; it is tried again later with backoff."""


class PermanentChannelError(ChannelError):
    """The receiver refused the notification for good (e.g. HTTP 4xx, unknown mailbox): no retry."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One notification to one recipient, as the channel sends it."""

    delivery_id: int
    key: str
    channel: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any]

    def document(self, sent_at: datetime) -> dict[str, Any]:
        """The JSON document on the wire: the payload plus delivery id and send time (UTC)."""
        return {**self.payload, "delivery_id": self.delivery_id, "sent_at": utc_text(sent_at)}


class Channel(Protocol):
    """Something that delivers one notification to one recipient or raises ChannelError."""

    name: str

    def send(self, message: Outgoing) -> None:
        """Deliver, or raise ChannelError (retried) / PermanentChannelError (dropped)."""

    def close(self) -> None:
        """Release connections."""


class MqttChannel:
    """Publishes JSON with QoS 1 to <prefix>/notifications/<role>, .../crew/<crew>, .../user/<id>."""

    name = "mqtt"

    def __init__(self, settings: Settings, *, timeout_s: float = 10.0) -> None:
        """Connect lazily on the first send."""
        self.settings = settings
        self.timeout_s = timeout_s
        self._client: mqtt.Client | None = None

    def topic(self, recipient: str) -> str:
        """The topic of a recipient (`facility_manager`, `crew/north`, `user/7`)."""
        return f"{self.settings.mqtt_topic_prefix}/notifications/{recipient}"

    def _connected(self) -> mqtt.Client:
        if self._client is None:
            client = make_client(self.settings, f"cityhall-notify-{os.getpid()}-{os.urandom(3).hex()}")
            connect(client, self.settings)
            client.loop_start()
            self._client = client
        deadline = time.monotonic() + self.timeout_s
        while not self._client.is_connected():  # paho reconnects on its own after a drop
            if time.monotonic() > deadline:
                raise ChannelError(
                    f"MQTT broker {self.settings.mqtt_host}:{self.settings.mqtt_port} not connected"
                )
            time.sleep(0.02)
        return self._client

    def send(self, message: Outgoing) -> None:
        """Publish and wait for the broker's PUBACK."""
        client = self._connected()
        body = json.dumps(message.document(datetime.now(UTC)), ensure_ascii=False)
        info = client.publish(self.topic(message.recipient), body, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ChannelError(f"MQTT publish failed: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(self.timeout_s)
        except (RuntimeError, ValueError) as err:
            raise ChannelError(f"MQTT publish failed: {err}") from err
        if not info.is_published():
            raise ChannelError(f"MQTT broker did not acknowledge within {self.timeout_s:g} s")

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None


def sign(secret: bytes, body: bytes) -> str:
    """The X-CityHall-Signature value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(
    secret: bytes,
    body: bytes,
    headers: dict[str, str],
    *,
    now: datetime | None = None,
    tolerance_s: int = REPLAY_TOLERANCE_S,
) -> bool:
    """What a receiver checks: the HMAC, and a fresh timestamp that matches the signed body's sent_at."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if not hmac.compare_digest(sign(secret, body), lowered.get(SIGNATURE_HEADER.lower(), "")):
        return False
    try:
        stamp = int(lowered.get(TIMESTAMP_HEADER.lower(), ""))
        sent_at = datetime.fromisoformat(json.loads(body)["sent_at"])
    except (ValueError, KeyError, TypeError):
        return False
    current = (now or datetime.now(UTC)).timestamp()
    return int(sent_at.timestamp()) == stamp and abs(current - stamp) <= tolerance_s


class WebhookChannel:
    """POSTs signed JSON to the URL configured for the recipient's role."""

    name = "webhook"

    def __init__(self, settings: Settings) -> None:
        """Use CITYHALL_NOTIFY_WEBHOOK_URLS and _SECRET."""
        self.urls = settings.notify_webhook_url_map
        self.secret = settings.notify_webhook_secret.get_secret_value().encode()
        self.client = httpx.Client(timeout=settings.notify_webhook_timeout_seconds, follow_redirects=False)

    def send(self, message: Outgoing) -> None:
        """POST; 2xx is delivered, 408/429/5xx and network errors are retried, other 4xx are not."""
        url = self.urls.get(message.recipient)
        if url is None:
            raise PermanentChannelError(f"no webhook URL for {message.recipient!r} any more")
        sent_at = datetime.now(UTC).replace(microsecond=0)
        body = json.dumps(message.document(sent_at), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret, body),
            TIMESTAMP_HEADER: str(int(sent_at.timestamp())),
            DELIVERY_HEADER: str(message.delivery_id),
        }
        try:
            response = self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as err:
            raise ChannelError(f"webhook {url}: {err!r}") from err
        status = response.status_code
        if 200 <= status < 300:
            return
        detail = f"webhook {url} answered {status}"
        if 400 <= status < 500 and status not in (408, 429):
            raise PermanentChannelError(detail)
        raise ChannelError(detail)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()


class EmailChannel:
    """Sends plain text with a simple HTML alternative through CITYHALL_SMTP_HOST."""

    name = "email"

    def __init__(self, settings: Settings) -> None:
        """Use the CITYHALL_SMTP_* settings."""
        self.settings = settings

    def send(self, message: Outgoing) -> None:
        """One e-mail to one address; an unknown mailbox is permanent, anything else is retried."""
        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.smtp_from
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Message-ID"] = make_msgid(domain="cityhall-ops")
        mail["X-CityHall-Key"] = message.key
        mail.set_content(message.body)
        mail.add_alternative(html_body(message.subject, message.body), subtype="html")
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds) as smtp:
                if s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as err:
            raise PermanentChannelError(f"SMTP refused {message.recipient}: {err.recipients}") from err
        except (smtplib.SMTPException, OSError) as err:
            raise ChannelError(f"SMTP {s.smtp_host}:{s.smtp_port}: {err!r}") from err

    def close(self) -> None:
        """Nothing kept open: one SMTP connection per message."""


def channels_from_settings(settings: Settings) -> list[Channel]:
    """MQTT always; webhooks when URLs are set; e-mail when an SMTP host is set."""
    channels: list[Channel] = [MqttChannel(settings)]
    if settings.notify_webhook_url_map:
        channels.append(WebhookChannel(settings))
    if settings.smtp_host:
        channels.append(EmailChannel(settings))
    return channels
