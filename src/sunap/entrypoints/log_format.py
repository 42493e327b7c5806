"""Log lines as text (the default) or, with SUNAP_LOG_FORMAT=json, one JSON object per line.

Either way a line carries what it is about, where known: request_id, tenant, payment_id and
toss_trace_id (see sunap.application.log_context). The JSON keys are `time`, `level`, `logger`,
`message` and those four (docs/observability.md, "Logs").
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

from sunap.application import log_context

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class ContextFilter(logging.Filter):
    """Copies the bound facts onto each record, as attributes the formatters read; a fact the
    record brought itself (sunap_toss's line names its own call's trace id) is kept. Drops
    uvicorn's `color_message`, a copy of the message with terminal colours."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in log_context.current().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        record.__dict__.pop("color_message", None)
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        facts = [
            f"{name}={value}"
            for name in log_context.FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        return f"{line} [{' '.join(facts)}]" if facts else line


class JsonLineFormatter(JsonFormatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,  # 생수 as it is, not \uc0dd\uc218: a line is UTF-8
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def configure_logging(level: str, format: str = "text") -> None:
    """One handler on the root logger, for sunap's loggers and uvicorn's alike."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLineFormatter() if format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for chatty in QUIET_LIBRARIES:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    for telling in PARAMETER_LOGGERS:
        logging.getLogger(telling).setLevel(max(logging.INFO, root.level))


# HTTP client libraries that log each request's URL at INFO or DEBUG: a billing-key charge's URL
# holds Toss's billingKey (`/v1/billing/{billingKey}`). sunap_toss logs its own calls with the
# path's template instead, so these say nothing the log lacks.
QUIET_LIBRARIES = ("httpx", "httpcore", "hpack")
# Database drivers that log each statement with its bound parameters at DEBUG: an API key's hash,
# a sealed credential. Never below INFO, whatever SUNAP_LOG_LEVEL asks.
PARAMETER_LOGGERS = ("aiosqlite",)
