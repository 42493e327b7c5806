"""The embedded default writes each event as one structured line on logger `sunap.events`, naming
the event and its payment and showing nothing of the payment itself."""

from __future__ import annotations

import json
import logging

from sunap.adapters.brokers.log import LogPublisher
from sunap.application.ports.messaging import OutboundMessage

ENVELOPE = {
    "specversion": "1.0",
    "id": "evt_1",
    "type": "payment.completed",
    "subject": "pay_1",
    "sequence": 2,
    "data": {
        "id": "pay_1",
        "customerKey": "cust-kim-0101",
        "orderName": "생수 외 1건",
        "metadata": {"phone": "010-1234-5678"},
        "checkout": {"successUrl": "https://shop.example/ok?token=secret-token"},
    },
}


async def test_each_event_becomes_one_json_log_line_on_sunap_events(caplog):
    messages = [
        OutboundMessage(
            "commerce.payment.completed", "pay_1", "evt_1", json.dumps(ENVELOPE).encode()
        ),
        OutboundMessage("commerce.payment.created", "pay_2", "evt_2", b'{"id": "evt_2"}'),
    ]
    publisher = LogPublisher()
    await publisher.start()

    with caplog.at_level(logging.INFO, logger="sunap.events"):
        await publisher.publish(messages)
    await publisher.close()

    records = [r for r in caplog.records if r.name == "sunap.events"]
    assert len(records) == 2
    assert json.loads(records[0].getMessage()) == {
        "topic": "commerce.payment.completed",
        "id": "evt_1",
        "type": "payment.completed",
        "subject": "pay_1",
        "sequence": 2,
    }
    assert json.loads(records[1].getMessage())["id"] == "evt_2"
    assert "\n" not in records[0].getMessage()


async def test_no_field_of_the_payment_reaches_the_log(caplog):
    message = OutboundMessage(
        "commerce.payment.completed", "pay_1", "evt_1", json.dumps(ENVELOPE).encode()
    )
    with caplog.at_level(logging.DEBUG):
        await LogPublisher().publish([message])

    logged = caplog.text
    for private in ("cust-kim-0101", "생수", "010-1234-5678", "secret-token", "customerKey"):
        assert private not in logged


async def test_a_body_that_is_not_an_envelope_logs_only_its_topic_and_id(caplog):
    with caplog.at_level(logging.INFO, logger="sunap.events"):
        await LogPublisher().publish([OutboundMessage("t", "k", "evt_3", b"cust-kim not json")])

    assert json.loads(caplog.records[-1].getMessage()) == {"topic": "t", "id": "evt_3"}
