"""The embedded default writes each event as one structured line on logger `sunap.events`."""

from __future__ import annotations

import json
import logging

from sunap.adapters.brokers.log import LogPublisher
from sunap.application.ports import OutboundMessage


async def test_each_event_becomes_one_json_log_line_on_sunap_events(caplog):
    envelope = {"id": "evt_1", "type": "payment.completed", "subject": "pay_1", "sequence": 2}
    messages = [
        OutboundMessage(
            "commerce.payment.completed", "pay_1", "evt_1", json.dumps(envelope).encode()
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
    first = json.loads(records[0].getMessage())
    assert first == {
        "topic": "commerce.payment.completed",
        "key": "pay_1",
        "id": "evt_1",
        "event": envelope,
    }
    assert json.loads(records[1].getMessage())["id"] == "evt_2"
    assert "\n" not in records[0].getMessage()


async def test_a_body_that_is_not_json_is_still_logged_as_text(caplog):
    with caplog.at_level(logging.INFO, logger="sunap.events"):
        await LogPublisher().publish([OutboundMessage("t", "k", "evt_3", b"not json")])

    assert json.loads(caplog.records[-1].getMessage())["event"] == "not json"
