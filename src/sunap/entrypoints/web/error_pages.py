"""What a browser gets for an address under the pages' own prefixes that no route answers (an
unknown path, or a method the route does not take): a page in the pages' own style and headers,
not the API's JSON. The API's paths keep their JSON errors."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request, Response

from .pages import render, translator

DASHBOARD, CHECKOUT = "/dashboard", "/checkout"


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def error_page(request: Request, status: int, headers: Mapping[str, str] | None) -> Response | None:
    """The page for a routing error (404, 405) of the checkout or the dashboard; None for any
    other path or status, which the API's JSON answers."""
    path = request.url.path
    if status not in (404, 405) or not (_under(path, DASHBOARD) or _under(path, CHECKOUT)):
        return None
    t = translator(request)
    if _under(path, CHECKOUT):  # a customer's page: no dashboard link, nothing to go back to
        context = {
            "state": "invalid",
            "mark": "!",
            "payment": None,
            "heading": t("result_invalid"),
            "explanation": t("result_invalid_text"),
            "code": None,
            "retry_url": None,
            "continue_url": None,
            "refresh_url": None,
            "facts": None,
        }
        response = render(request, "checkout/result.html", context, status=status)
    else:
        heading, text = (
            ("not_found", "not_found_text") if status == 404 else ("form_only", "form_only_text")
        )
        context = {"heading": t(heading), "explanation": t(text), "back_url": DASHBOARD}
        response = render(request, "dashboard/message.html", context, status=status)
    for name, value in (headers or {}).items():  # a 405's Allow
        response.headers[name] = value
    return response
