"""Korean first, English when the browser prefers it; every word a page asks for exists in both."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from sunap.entrypoints.web.i18n import CATALOGUE, Translator, negotiate


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "ko"),
        ("", "ko"),
        ("ko-KR,ko;q=0.9", "ko"),
        ("en-US,en;q=0.9", "en"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("ko;q=0.5,en;q=0.8", "en"),
        ("fr-FR,fr;q=0.9", "ko"),
        ("fr,en;q=0.3", "en"),
        ("en;q=0,ko;q=0.1", "ko"),
        ("en;q=banana", "ko"),
    ],
)
def test_the_page_language_follows_accept_language(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


def test_every_word_the_templates_and_pages_ask_for_is_in_the_catalogue() -> None:
    package = resources.files("sunap.entrypoints.web")
    sources = [p.read_text("utf-8") for p in _files(package) if p.name.endswith((".html", ".py"))]
    asked = {
        key for source in sources for key in re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']""", source)
    }
    assert asked, "the scan found no words at all"
    assert asked - set(CATALOGUE) == set()


def test_korean_and_english_give_different_words_with_the_same_placeholders() -> None:
    for key, (korean, english) in CATALOGUE.items():
        assert set(re.findall(r"{(\w+)}", korean)) == set(re.findall(r"{(\w+)}", english)), key
    assert Translator("ko")("pay_now") == "결제하기"
    assert Translator("en")("pay_now") == "Pay now"


def _files(folder):  # type: ignore[no-untyped-def]
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _files(entry)
        else:
            yield entry
