"""The report files `modelplane plan` writes, by option name, and how each is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelplane.offline.plan_result import Plan
from modelplane.report.plan_json import render_json
from modelplane.report.plan_markdown import render_markdown
from modelplane.report.plan_sarif import render_sarif

RENDERERS: dict[str, Callable[[Plan], str | dict[str, Any]]] = {
    "json": render_json,
    "sarif": render_sarif,
    "markdown": render_markdown,
}


def write_report(path: Path, content: str | dict[str, Any]) -> None:
    """Write one report file, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
