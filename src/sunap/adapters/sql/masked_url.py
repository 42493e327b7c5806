"""A database URL as people may see it (the banner): its passwords masked, wherever they are.

SQLAlchemy's `hide_password` masks the one before the `@`; drivers also take one in the query
(`?password=…`, libpq's `sslpassword`, MySQL's `passwd`, …), which it prints as it is."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from sqlalchemy.engine import make_url

MASK = "***"
# A query parameter named like one of these holds a secret, or names where one is: masked.
SECRET_NAMES = re.compile(r"pass|pwd|secret|token|key|auth|cred", re.IGNORECASE)


def masked_database_url(url: str) -> str:
    parsed = make_url(url)
    shown = parsed.set(query={}).render_as_string(hide_password=True)
    pairs = []
    for name, values in parsed.query.items():
        for value in (values,) if isinstance(values, str) else values:
            masked = MASK if SECRET_NAMES.search(name) else quote_plus(value)
            pairs.append(f"{quote_plus(name)}={masked}")
    return f"{shown}?{'&'.join(pairs)}" if pairs else shown
