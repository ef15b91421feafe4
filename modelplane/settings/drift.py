"""Input drift: how `modelplane drift` judges captured requests against a training baseline, and
whether the stack alarms on the drift it publishes."""

from __future__ import annotations

from pydantic import Field

from modelplane.settings.base import SettingsModel


class DataDrift(SettingsModel):
    """Thresholds of `modelplane drift`, and alarms on the metrics `modelplane drift --publish` writes."""

    enabled: bool = False
    """Create an alarm per endpoint on the drift metrics `modelplane drift --publish` publishes."""
    psi_threshold: float = Field(default=0.2, gt=0)
    """Population stability index at or above which a feature has drifted (0.1 notable, 0.25 large)."""
    p_value: float = Field(default=0.01, gt=0, lt=1)
    """Significance of the KS and chi-squared tests, for all features together (Bonferroni)."""
    new_category_share: float = Field(default=0.05, gt=0, le=1)
    """Share of a categorical feature's values outside the baseline's categories that counts as drift."""
    min_records: int = Field(default=200, ge=1)
    """Captured requests a window needs before it is judged; fewer is inconclusive (exit 3)."""
