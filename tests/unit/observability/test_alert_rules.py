"""docs/alerts.yml is a Prometheus rules file whose every alert names metrics the service has,
and operations.md's alert list is that file's."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from sunap.entrypoints.metrics import Metrics

RULES = Path(__file__).parents[3] / "docs" / "alerts.yml"
DOCS = Path(__file__).parents[3] / "docs" / "observability.md"
OPERATIONS = Path(__file__).parents[3] / "docs" / "operations.md"


def exposed_names() -> set[str]:
    """Every name the service's registry can expose: families, and their samples' names
    (`_total`, histograms' `_bucket`/`_count`/`_sum`)."""
    registry = Metrics().registry
    names = set()
    for family in registry.collect():
        suffixes = {
            "counter": ("_total",),
            "histogram": ("", "_bucket", "_count", "_sum"),
        }.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text())
    assert set(loaded) == {"groups"}
    found = []
    for group in loaded["groups"]:
        assert group["name"] and group["rules"], group
        found.extend(group["rules"])
    return found


def test_every_alert_has_an_expression_a_severity_and_a_summary() -> None:
    alerts = rules()
    assert len(alerts) >= 8
    names = [rule["alert"] for rule in alerts]
    assert len(names) == len(set(names))
    for rule in alerts:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in ("page", "ticket")
        assert rule["annotations"]["summary"]
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["for"]


def test_every_metric_an_alert_or_the_docs_name_is_exposed() -> None:
    exposed = exposed_names()
    named = set(re.findall(r"\bsunap_[a-z_]+", RULES.read_text() + DOCS.read_text()))
    not_metrics = {"sunap_toss"}  # the Toss client's logger, in the docs' log-line example
    assert named - not_metrics - exposed == set()


def test_operations_md_lists_every_alert_of_the_rules_file_and_no_other() -> None:
    section = OPERATIONS.read_text().split("## Alerting", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    assert sorted(listed) == sorted(rule["alert"] for rule in rules())


def test_an_open_circuit_is_described_as_the_api_answers_it() -> None:
    """502 PG_UNAVAILABLE, as docs/api.md says: it read 503, which the API answers for the
    database only."""
    (circuit,) = [rule for rule in rules() if rule["alert"] == "SunapTossCircuitOpen"]
    assert "502 PG_UNAVAILABLE" in circuit["annotations"]["description"]
    assert "503" not in circuit["annotations"]["description"]


def test_promtool_accepts_the_rules_when_it_is_installed() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:  # `apt-get install prometheus` brings it; the structure is checked above
        return
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rules())} rules found" in checked.stdout
