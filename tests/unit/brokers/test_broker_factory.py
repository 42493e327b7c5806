"""`SUNAP_BROKER_URL` picks the adapter by scheme (docs/api.md, Events)."""

from __future__ import annotations

import pytest

from sunap.adapters.brokers import rabbitmq
from sunap.adapters.brokers.factory import kafka_servers, publisher_from_url, subscriber_from_url
from sunap.adapters.brokers.jetstream import NatsPublisher, NatsSubscriber
from sunap.adapters.brokers.kafka import KafkaPublisher, KafkaSubscriber
from sunap.adapters.brokers.log import LogPublisher
from sunap.adapters.brokers.rabbitmq import RabbitMqPublisher, RabbitMqSubscriber
from sunap.adapters.brokers.redis_streams import RedisStreamsPublisher, RedisStreamsSubscriber

PASSWORD = "s3cr3t-pa55"


@pytest.mark.parametrize(
    ("url", "publisher_type", "subscriber_type"),
    [
        ("kafka://127.0.0.1:9092", KafkaPublisher, KafkaSubscriber),
        ("kafka://k1:9092,k2:9092", KafkaPublisher, KafkaSubscriber),
        (f"amqp://sunap:{PASSWORD}@127.0.0.1:5672/sunap", RabbitMqPublisher, RabbitMqSubscriber),
        ("nats://127.0.0.1:4222", NatsPublisher, NatsSubscriber),
        ("redis://127.0.0.1:6379/0", RedisStreamsPublisher, RedisStreamsSubscriber),
        (f"redis://:{PASSWORD}@127.0.0.1:6379/2", RedisStreamsPublisher, RedisStreamsSubscriber),
    ],
)
async def test_the_url_scheme_chooses_the_publisher_and_the_subscriber(
    url, publisher_type, subscriber_type
):
    publisher = publisher_from_url(url)
    subscriber = subscriber_from_url(url)
    try:
        assert type(publisher) is publisher_type
        assert type(subscriber) is subscriber_type
    finally:
        await publisher.close()
        if subscriber is not None:
            await subscriber.close()


@pytest.mark.parametrize("url", [None, "", "  "])
async def test_no_broker_url_means_the_log_publisher_and_no_subscriber(url):
    assert isinstance(publisher_from_url(url), LogPublisher)
    assert subscriber_from_url(url) is None


@pytest.mark.parametrize("url", ["mqtt://broker:1883", "http://127.0.0.1:9092", "127.0.0.1:9092"])
def test_an_unknown_scheme_is_refused_with_the_schemes_it_accepts(url):
    for choose in (publisher_from_url, subscriber_from_url):
        with pytest.raises(ValueError, match=r"kafka://.*amqp://.*nats://.*redis://"):
            choose(url)


def test_an_error_about_a_broker_url_never_shows_its_password():
    with pytest.raises(ValueError) as refused:
        publisher_from_url(f"mqtt://sunap:{PASSWORD}@broker:1883")

    assert PASSWORD not in str(refused.value)
    assert "sunap:***@broker:1883" in str(refused.value)


async def test_a_publisher_built_from_a_url_never_shows_its_password():
    publisher = publisher_from_url(f"amqp://sunap:{PASSWORD}@127.0.0.1:5672/")
    subscriber = subscriber_from_url(f"redis://:{PASSWORD}@127.0.0.1:6379/0")
    try:
        assert PASSWORD not in repr(publisher)
        assert PASSWORD not in repr(subscriber)
    finally:
        await publisher.close()
        assert subscriber is not None
        await subscriber.close()


def test_a_kafka_url_lists_every_bootstrap_server():
    assert kafka_servers("kafka://k1:9092, k2:9093") == ["k1:9092", "k2:9093"]


def test_a_kafka_url_without_a_server_is_refused():
    with pytest.raises(ValueError, match="names no Kafka server"):
        publisher_from_url("kafka://")


def test_rabbitmq_uses_the_sunap_exchange_by_default():
    assert rabbitmq.EXCHANGE == "sunap"
    assert "exchange='sunap'" in repr(publisher_from_url("amqp://guest:guest@127.0.0.1:5672/"))
