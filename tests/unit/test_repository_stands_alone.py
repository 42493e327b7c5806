"""A clone of this repository is all a reader has: no tracked file may send them to documents
that live outside it. The documentation is docs/; code and tests cite its pages by section."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The team notes this project grew from are not in the repository; their names must not be either.
# The names are assembled here, so that this file does not itself point at them.
NOTES_DIR = "shared"
NOTE_NAMES = ("API", "TOSS", "RELIABILITY", "DESIGN", "STYLE-ANCHORS", "REVIEW")
EXTENSION = ".md"
OUTSIDE = re.compile(
    rf"\.\./{NOTES_DIR}|/{'work'}/|(?<![\w/.-]){NOTES_DIR}/"
    rf"|(?<![\w/.-])(?:{'|'.join(NOTE_NAMES)}){re.escape(EXTENSION)}"
)
# "confirm rule 6" with no page named beside it points at a numbering only those notes had.
BARE_RULE = re.compile(r"(?i)\b(?:confirm|cancel) rules? \d")
CITES_DOCS = re.compile(r"docs/api\.md|Confirm rules|Cancel rules")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    files = [ROOT / name for name in listed.split("\0") if name]
    return [f for f in files if f.is_file() and b"\0" not in f.read_bytes()[:8192]]


def offending_lines(pattern: re.Pattern[str], text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if pattern.search(line)]


def test_no_tracked_file_refers_to_documents_outside_the_repository() -> None:
    found = {
        str(f.relative_to(ROOT)): lines
        for f in tracked_text_files()
        if f.name != Path(__file__).name
        and (lines := offending_lines(OUTSIDE, f.read_text(errors="replace")))
    }
    assert found == {}


def test_every_numbered_rule_cited_names_the_page_it_is_in() -> None:
    found = {}
    for f in tracked_text_files():
        if f.name == Path(__file__).name or f.parts[len(ROOT.parts)] == "docs":
            continue
        text = f.read_text(errors="replace")
        lines = [line for line in offending_lines(BARE_RULE, text) if not CITES_DOCS.search(line)]
        if lines:
            found[str(f.relative_to(ROOT))] = lines
    assert found == {}


def test_the_pattern_catches_what_it_must_and_spares_the_repositorys_own_docs() -> None:
    api, toss, reliability = (name + EXTENSION for name in NOTE_NAMES[:3])
    for outside in (
        f"see ../{NOTES_DIR}/{api}",
        f"({reliability} §4)",
        f"{toss} 6.2",
        f"{NOTES_DIR}/proto",
    ):
        assert OUTSIDE.search(outside), outside
    for inside in ("docs/api.md, Events", "docs/reliability.md", "the shared account", "README.md"):
        assert not OUTSIDE.search(inside), inside
    assert BARE_RULE.search("(confirm rule 6)") and not BARE_RULE.search("rule of thumb")
