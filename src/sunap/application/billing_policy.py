"""How billing runs: the calendar periods are counted on, the dunning ladder, and the box that
opens stored billing keys. Passed in by bootstrap from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sunap.domain.subscription import Dunning, FinalDunning

from .secrets import NoSecretBox, SecretBox

DEFAULT_ZONE = "Asia/Seoul"
DEFAULT_DUNNING = Dunning(retry_days=(1, 3, 5), final=FinalDunning.CANCEL)


@dataclass(frozen=True)
class BillingPolicy:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_ZONE))
    dunning: Dunning = DEFAULT_DUNNING
    box: SecretBox = field(
        default_factory=lambda: NoSecretBox("No secrets key: billing keys cannot be stored.")
    )
