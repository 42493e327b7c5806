"""What the sandbox shows of Toss's credentials on its control plane and in its log: a billing key
(a standing right to charge a card, with no expiry) is named by the template `{billingKey}`, as
Sunap's own traces and audit rows name it. The control plane answers anyone who reaches the port.

An authKey (single use, spent on issue) and a customerKey (the shop's own id) are no such secret,
and `/v1/billing/authorizations/...` paths carry neither in their path anyway.
"""

from __future__ import annotations

from typing import Any

BILLING_KEY = "{billingKey}"


def masked_path(template: str, path: str) -> str:
    """`path` with the segment the route `template` names `{billingKey}` replaced by that name:
    `/v1/billing/AqLX…` on `/v1/billing/{billingKey}` is `/v1/billing/{billingKey}`."""
    segments = path.split("/")
    names = template.split("/")
    if len(segments) != len(names):  # not a match of the template: nothing to place
        return path
    return "/".join(
        BILLING_KEY if name == BILLING_KEY else segment
        for name, segment in zip(names, segments, strict=True)
    )


def masked_event(body: dict[str, Any]) -> dict[str, Any]:
    """A webhook body as listed: BILLING_DELETED's `data.billingKey` named, not shown. The body
    sent to the merchant keeps it: Toss sends it, and the merchant matches its key by it."""
    data = body.get("data")
    if not isinstance(data, dict) or "billingKey" not in data:
        return body
    return {**body, "data": {**data, "billingKey": BILLING_KEY}}
