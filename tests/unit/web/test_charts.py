"""Charts are inline SVG with their numbers as text: drawn from the data, nothing else."""

from __future__ import annotations

import re

from sunap.entrypoints.web.charts import Series, chart, compact_money
from sunap.entrypoints.web.i18n import Translator

EN = Translator("en")


def series(values: list[float | None], kind: str = "bars") -> Series:
    return Series(
        title="Approved <volume>",
        labels=[f"h{i}" for i in range(len(values))],
        values=values,
        texts=["—" if v is None else f"{v:g}" for v in values],
        kind=kind,  # type: ignore[arg-type]
        tick=lambda v: f"{v:g}",
    )


def test_each_bucket_with_volume_is_one_bar_as_tall_as_its_share_of_the_highest() -> None:
    svg = chart(series([0, 50, 100]), "c", EN)
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', svg)]
    assert len(heights) == 2
    assert abs(heights[1] - 2 * heights[0]) < 0.2


def test_a_rate_line_has_a_gap_where_nothing_was_decided() -> None:
    svg = chart(series([0.5, None, 1.0, 0.9], kind="line"), "c", EN)
    assert svg.count('<circle class="dot"') == 3
    assert svg.count("<polyline") == 1  # only the two neighbours on the right are joined


def test_an_empty_chart_says_so_and_a_zero_rate_is_still_drawn() -> None:
    assert "no payments" in chart(series([0, 0, 0]), "c", EN)
    zero = chart(series([0.0, 0.0], kind="line"), "c", EN)
    assert "no payments" not in zero and zero.count('<circle class="dot"') == 2


def test_a_chart_is_accessible_and_escapes_its_text() -> None:
    svg = chart(series([1, 2]), "vol", EN)
    assert 'role="img"' in svg and 'aria-labelledby="vol-title vol-desc"' in svg
    assert "Approved &lt;volume&gt;" in svg and "<volume>" not in svg
    assert "<table" in svg and "<th scope='row'>h1</th>" in svg


def test_axis_money_is_short() -> None:
    assert compact_money(1_500_000, Translator("ko")) == "150만"
    assert compact_money(250_000_000, Translator("ko")) == "2.5억"
    assert compact_money(1_500_000, EN) == "₩1.5M"
    assert compact_money(900, EN) == "₩900"
