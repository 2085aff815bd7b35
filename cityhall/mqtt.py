"""Building paho-mqtt 2 clients the same way in the processes that use paho (notifier, live rules,
simulators); the collector receives through its own client, collector/mqttwire.py."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cityhall.settings import Settings

# The collector's persistent session outlives a restart or upgrade by this long; the broker queues meanwhile.
SESSION_EXPIRY_S = 7 * 24 * 3600


def make_client(settings: Settings, client_id: str) -> mqtt.Client:
    """A client for the configured broker, with a clean session."""
    v5 = settings.mqtt_protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else True,
    )
    if settings.mqtt_username:
        client.username_pw_set(settings.mqtt_username, settings.mqtt_password.get_secret_value())
    context = tls_context(settings)
    if context is not None:
        client.tls_set_context(context)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    return client


def connect(client: mqtt.Client, settings: Settings, *, receive_maximum: int = 1000) -> None:
    """Connect asynchronously (loop_start drives it); v5 sessions end with the connection."""
    if settings.mqtt_protocol == "5":
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 0
        props.ReceiveMaximum = receive_maximum
        client.connect_async(
            settings.mqtt_host, settings.mqtt_port, keepalive=30, clean_start=True, properties=props
        )
    else:
        client.connect_async(settings.mqtt_host, settings.mqtt_port, keepalive=30)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """With CITYHALL_MQTT_TLS: a client context that verifies the broker's certificate and host name
    against CITYHALL_MQTT_TLS_CA_FILE (or the system's trust store); None for plain TCP."""
    if not settings.mqtt_tls:
        return None
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.mqtt_tls_ca_file or None)


def subscription(settings: Settings, topic_filter: str) -> str:
    """The filter to subscribe: a shared subscription when CITYHALL_MQTT_SHARE_GROUP is set (scale-out)."""
    if settings.mqtt_share_group:
        return f"$share/{settings.mqtt_share_group}/{topic_filter}"
    return topic_filter
