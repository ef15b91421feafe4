"""Markdown for every report and generated doc: text made safe for one table cell."""


def cell(text: str) -> str:
    """`text` inside a table cell: backslashes and pipes escaped, line breaks as `<br>` (a cell is one line)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")
