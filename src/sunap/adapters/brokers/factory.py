"""Choose the publisher and the subscriber from `SUNAP_BROKER_URL` (docs/api.md, "Events").

Each broker's module is imported only when its URL is configured: its client library is an extra
(`sunap[kafka]`, …) that a deployment on another broker does not install."""

from __future__ import annotations

from urllib.parse import urlsplit

from sunap.adapters.brokers.log import LogPublisher
from sunap.adapters.brokers.redaction import redact_url
from sunap.adapters.drivers import AIO_PIKA, AIOKAFKA, NATS_PY, REDIS_PY, require
from sunap.application.ports.messaging import EventPublisher, MessageSubscriber

KAFKA, AMQP, NATS, REDIS = ("kafka",), ("amqp", "amqps"), ("nats", "tls"), ("redis", "rediss")
DEFAULT_PREFIX = "commerce."  # SUNAP_TOPIC_PREFIX's default
NEEDED_BY = "SUNAP_BROKER_URL"
EXPECTED = (
    "kafka://host:port[,host:port], amqp://user:pass@host:port/vhost, nats://host:port "
    "or redis://host:port/db"
)


def broker_url_problem(url: str) -> str | None:
    """What makes `url` no broker URL the adapters can use, if anything: its scheme, a missing
    server, a port that is no port. Read at start with every other setting, so that a typo stops
    the service before it migrates anything. Never quotes the URL (it may hold a password)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in KAFKA + AMQP + NATS + REDIS:
        return "its scheme is none of these"
    hosts = parts.netloc.rpartition("@")[2]
    servers = hosts.split(",") if parts.scheme.lower() in KAFKA else [hosts]
    if not all(server.strip() for server in servers):
        return "it names no server"
    for server in servers:
        address = urlsplit(f"//{server.strip()}")
        try:
            port = address.port  # ValueError: not a number, or past 65535
        except ValueError:
            port = 0
        if port == 0:
            return "a port in it is not a number from 1 to 65535"
        if not address.hostname:
            return "it names no host"
    return None


def require_client(url: str | None) -> None:
    """Raises MissingDriver, naming the extra to install, when the client library of the
    broker `url` names is absent; nothing for no broker or a URL the adapters cannot read."""
    if url is None or not url.strip() or broker_url_problem(url) is not None:
        return
    scheme = _scheme(url)
    clients = ((KAFKA, AIOKAFKA), (AMQP, AIO_PIKA), (NATS, NATS_PY), (REDIS, REDIS_PY))
    require(next(client for schemes, client in clients if scheme in schemes), needed_by=NEEDED_BY)


def publisher_from_url(
    url: str | None, *, topic_prefix: str = DEFAULT_PREFIX, timeout: float = 5.0
) -> EventPublisher:
    """The publisher for a broker URL; no URL means the embedded default, the log publisher.
    `topic_prefix` names the NATS stream's subjects; `timeout` bounds every broker call."""
    if url is None or not url.strip():
        return LogPublisher()
    scheme = _scheme(url)
    if scheme in KAFKA:
        require(AIOKAFKA, needed_by=NEEDED_BY)
        from sunap.adapters.brokers.kafka import KafkaPublisher

        return KafkaPublisher(kafka_servers(url), timeout=timeout)
    if scheme in AMQP:
        require(AIO_PIKA, needed_by=NEEDED_BY)
        from sunap.adapters.brokers.rabbitmq import RabbitMqPublisher

        return RabbitMqPublisher(url, timeout=timeout)
    if scheme in NATS:
        require(NATS_PY, needed_by=NEEDED_BY)
        from sunap.adapters.brokers.jetstream import NatsPublisher

        return NatsPublisher(url, topic_prefix=topic_prefix, timeout=timeout)
    require(REDIS_PY, needed_by=NEEDED_BY)
    from sunap.adapters.brokers.redis_streams import RedisStreamsPublisher

    return RedisStreamsPublisher(url, timeout=timeout)


def subscriber_from_url(
    url: str | None, *, topic_prefix: str = DEFAULT_PREFIX, timeout: float = 5.0
) -> MessageSubscriber | None:
    """The subscriber for a broker URL; with no URL there is nothing to subscribe to."""
    if url is None or not url.strip():
        return None
    scheme = _scheme(url)
    if scheme in KAFKA:
        require(AIOKAFKA, needed_by=NEEDED_BY)
        from sunap.adapters.brokers.kafka import KafkaSubscriber

        return KafkaSubscriber(kafka_servers(url), timeout=timeout)
    if scheme in AMQP:
        require(AIO_PIKA, needed_by=NEEDED_BY)
        from sunap.adapters.brokers.rabbitmq import RabbitMqSubscriber

        return RabbitMqSubscriber(url, timeout=timeout)
    if scheme in NATS:
        require(NATS_PY, needed_by=NEEDED_BY)
        from sunap.adapters.brokers.jetstream import NatsSubscriber

        return NatsSubscriber(url, topic_prefix=topic_prefix, timeout=timeout)
    require(REDIS_PY, needed_by=NEEDED_BY)
    from sunap.adapters.brokers.redis_streams import RedisStreamsSubscriber

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
