"""The table `modelplane image test` prints: one line per check, details wrapped within 80 columns."""

from __future__ import annotations

import textwrap

from modelplane.images.contract import Check, Result

TABLE_WIDTH = 80
CHECK_WIDTH = 12
DETAIL_INDENT = 2 + 4 + 2 + CHECK_WIDTH + 2


def render(image: str, checks: list[Check]) -> str:
    """One line per check (details wrapped within 80 columns), then the verdict."""
    lines = [f"modelplane image test: {image}", ""]
    for check in checks:
        label = "FAIL" if check.result is Result.FAIL else check.result.value
        detail = textwrap.wrap(check.detail, TABLE_WIDTH - DETAIL_INDENT, break_long_words=True, break_on_hyphens=False)
        detail = detail or [""]
        lines.append(f"  {label:<4}  {check.name:<{CHECK_WIDTH}}  {detail[0]}")
        lines += [" " * DETAIL_INDENT + line for line in detail[1:]]
    counts = {result: sum(check.result is result for check in checks) for result in Result}
    verdict = "FAILED" if counts[Result.FAIL] else "OK"
    passed, failed, skipped = (counts[result] for result in Result)
    lines += ["", f"{verdict}: {passed} passed, {failed} failed, {skipped} skipped"]
    return "\n".join(lines)
