"""Reading a request message as the HTTP door reads a body: bytes that do not decode, a message
past the API's body limit, or a control character in any string is refused with the API's code,
not with grpcio's bare status (UNKNOWN and a Python exception's name, or a RESOURCE_EXHAUSTED
with no `sunap-error-code`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from sunap.application.strict_json import control_character_in
from sunap.domain.errors import InvalidRequest
from sunap.v1 import payments_pb2 as pb

from .errors import rich_status

# The API's limit on a request body; grpcio itself refuses past TRANSPORT_LIMIT, unread.
BODY_LIMIT = 64 * 1024
TRANSPORT_LIMIT = 1024 * 1024

# Fields that name something (ids, cursors, keys): no tab or newline either, as in a URL.
_NAMES = frozenset({"id", "payment_id", "order_id", "customer_key", "cursor"})


@dataclass(frozen=True)
class Unreadable:
    """Stands in for a request message that could not be read; the RPC answers `status`."""

    status: Any  # google.rpc.Status


def reader(message_class: type[Message]) -> Callable[[bytes], Message | Unreadable]:
    def read(data: bytes) -> Message | Unreadable:
        if len(data) > BODY_LIMIT:
            return Unreadable(
                rich_status(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "PAYLOAD_TOO_LARGE",
                    f"The request message is larger than {BODY_LIMIT} bytes.",
                )
            )
        try:
            return message_class.FromString(data)
        except DecodeError:
            return Unreadable(
                rich_status(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "INVALID_REQUEST",
                    f"The request is not a valid {message_class.DESCRIPTOR.full_name} message.",
                )
            )

    return read


def refuse_control_characters(message: Message) -> None:
    """InvalidRequest when a string anywhere in the message holds a control character; free
    text may hold tab and newline, as in a JSON body (application/strict_json.py)."""
    for field, value in message.ListFields():
        for text_or_message, free_text in _values(field, value):
            if isinstance(text_or_message, Message):
                refuse_control_characters(text_or_message)
            elif control_character_in(text_or_message, free_text=free_text):
                raise InvalidRequest(
                    f"'{field.name}' holds U+0000 or another control character (only free "
                    "text may hold tab and newline, never a key)."
                )


def _values(field: FieldDescriptor, value: Any) -> list[tuple[Any, bool]]:
    """The field's strings and messages, each with whether it is free text. A map's keys never
    are: a JSON body's keys refuse tab and newline too."""
    free = field.name not in _NAMES
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        parts = [(key, False) for key in value] + [(item, free) for item in value.values()]
    else:
        parts = [(item, free) for item in (list(value) if field.is_repeated else [value])]
    return [(part, free_text) for part, free_text in parts if _kept(part)]


def _kept(item: Any) -> bool:
    return isinstance(item, str | Message)


def add_payment_service(servicer: Any, server: grpc.aio.Server) -> None:
    """As the generated add_PaymentServiceServicer_to_server, with requests read by `reader`."""
    service = pb.DESCRIPTOR.services_by_name["PaymentService"]
    handlers = {}
    for method in service.methods:
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=reader(getattr(pb, method.input_type.name)),
            response_serializer=getattr(pb, method.output_type.name).SerializeToString,
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service.full_name, handlers),)
    )
    server.add_registered_method_handlers(service.full_name, handlers)
