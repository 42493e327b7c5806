"""Choose the publisher and the subscriber from `SUNAP_BROKER_URL` (docs/api.md, Events)."""

from __future__ import annotations

from urllib.parse import urlsplit

from sunap.adapters.brokers.jetstream import DEFAULT_PREFIX, NatsPublisher, NatsSubscriber
from sunap.adapters.brokers.kafka import KafkaPublisher, KafkaSubscriber
from sunap.adapters.brokers.log import LogPublisher
from sunap.adapters.brokers.rabbitmq import RabbitMqPublisher, RabbitMqSubscriber
from sunap.adapters.brokers.redaction import redact_url
from sunap.adapters.brokers.redis_streams import RedisStreamsPublisher, RedisStreamsSubscriber
from sunap.application.ports import EventPublisher, MessageSubscriber

KAFKA, AMQP, NATS, REDIS = ("kafka",), ("amqp", "amqps"), ("nats", "tls"), ("redis", "rediss")
EXPECTED = (
    "kafka://host:port[,host:port], amqp://user:pass@host:port/vhost, nats://host:port "
    "or redis://host:port/db"
)


def publisher_from_url(
    url: str | None, *, topic_prefix: str = DEFAULT_PREFIX, timeout: float = 5.0
) -> EventPublisher:
    """The publisher for a broker URL; no URL means the embedded default, the log publisher.
    `topic_prefix` names the NATS stream's subjects; `timeout` bounds every broker call."""
    if url is None or not url.strip():
        return LogPublisher()
    scheme = _scheme(url)
    if scheme in KAFKA:
        return KafkaPublisher(kafka_servers(url), timeout=timeout)
    if scheme in AMQP:
        return RabbitMqPublisher(url, timeout=timeout)
    if scheme in NATS:
        return NatsPublisher(url, topic_prefix=topic_prefix, timeout=timeout)
    return RedisStreamsPublisher(url, timeout=timeout)


def subscriber_from_url(
    url: str | None, *, topic_prefix: str = DEFAULT_PREFIX, timeout: float = 5.0
) -> MessageSubscriber | None:
    """The subscriber for a broker URL; with no URL there is nothing to subscribe to."""
    if url is None or not url.strip():
        return None
    scheme = _scheme(url)
    if scheme in KAFKA:
        return KafkaSubscriber(kafka_servers(url), timeout=timeout)
    if scheme in AMQP:
        return RabbitMqSubscriber(url, timeout=timeout)
    if scheme in NATS:
        return NatsSubscriber(url, topic_prefix=topic_prefix, timeout=timeout)
    return RedisStreamsSubscriber(url, timeout=timeout)


def kafka_servers(url: str) -> list[str]:
    """`kafka://a:9092,b:9092` → `["a:9092", "b:9092"]`."""
    servers = [server.strip() for server in urlsplit(url).netloc.split(",") if server.strip()]
    if not servers:
        raise ValueError(
            f"broker URL {redact_url(url)!r} names no Kafka server: expected "
            "kafka://host:port[,host:port]"
        )
    return servers


def _scheme(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in KAFKA + AMQP + NATS + REDIS:
        raise ValueError(
            f"unsupported broker URL {redact_url(url)!r}: the scheme must be one of {EXPECTED}"
        )
    return scheme
