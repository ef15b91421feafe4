"""The shell commands the documentation shows, as words, with where each comes from.

Fenced `sh`/`bash`/`shell`/`console` blocks are split into simple commands (backslash continuations
joined, comments dropped, `|`, `&&`, `||` and `;` separating commands, redirections removed);
inline code spans count too when they start with a program whose commands the tests check. A
placeholder such as `<stack>` or `<repo>@sha256:<digest>` becomes one word, `PLACEHOLDER` inside it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.stacks import REPOSITORY

README = REPOSITORY / "README.md"
DOCUMENTS = [README, *sorted((REPOSITORY / "docs").rglob("*.md"))]
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
# Inline code spans are commands only for these programs; elsewhere a span is a name, not a command.
INLINE_PROGRAMS = ("modelplane", "uv", "pulumi", "make", "aws")
SEPARATORS = {"|", "||", "&&", ";"}
REDIRECTIONS = {">", ">>", "<", "2>", "&>"}
PLACEHOLDER = "PLACEHOLDER"
# "and so on" in prose (`modelplane …`): no word of the command.
ELLIPSES = {"…", "..."}


@dataclass(frozen=True)
class Command:
    document: Path
    line: int
    words: tuple[str, ...]
    inline: bool

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(REPOSITORY)}:{self.line}"

    @property
    def has_placeholders(self) -> bool:
        return any(PLACEHOLDER in word for word in self.words)


def _placeholders(text: str) -> str:
    """`<stack>` -> PLACEHOLDER, also inside a word (`<repo>@sha256:<digest>`); `< file` is a redirection."""
    return re.sub(r"<[^<>\s][^<>\n]*>", PLACEHOLDER, text)


def split(text: str) -> list[list[str]]:
    """Simple commands of one shell line: words, without separators, redirections or comments.

    Optional parts written `[--flag VALUE]` count as written without the brackets.
    """
    lexer = shlex.shlex(_placeholders(text), posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    words = iter(lexer)
    optional = 0
    for word in words:
        if word in SEPARATORS:
            commands.append([])
        elif word in REDIRECTIONS:
            next(words, None)
        elif word not in ELLIPSES:
            if word.startswith("[-"):
                word, optional = word[1:], optional + 1
            if optional and word.endswith(("]", "]...")):
                word, optional = word[: word.rindex("]")], optional - 1
            commands[-1].append(word)
    return [command for command in commands if command]


def _fenced(document: Path) -> list[Command]:
    text = document.read_text(encoding="utf-8")
    found = []
    # Blocks inside list items are indented; their lines keep the indentation, which the shell ignores.
    for block in re.finditer(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", text, flags=re.DOTALL | re.MULTILINE):
        if block.group(1) not in SHELL_LANGUAGES:
            continue
        first_line = text[: block.start(2)].count("\n") + 1
        logical, start = "", first_line
        for offset, line in enumerate(block.group(2).splitlines()):
            if not logical:
                start = first_line + offset
            logical += line.rstrip()
            if logical.endswith("\\"):
                logical = logical[:-1] + " "
                continue
            found += [Command(document, start, tuple(words), inline=False) for words in split(logical)]
            logical = ""
    return found


def _inline(document: Path) -> list[Command]:
    text = document.read_text(encoding="utf-8")
    blanked = re.sub(
        r"^[ \t]*```.*?^[ \t]*```", lambda match: "\n" * match.group(0).count("\n"), text, flags=re.DOTALL | re.M
    )
    found = []
    for span in re.finditer(r"`([^`]+)`", blanked):
        content = " ".join(span.group(1).split())
        if not content.startswith(tuple(f"{program} " for program in INLINE_PROGRAMS)):
            continue
        line = blanked[: span.start()].count("\n") + 1
        # A subcommand is never a placeholder: `modelplane <stack> alarms` is a name, not a command.
        found += [
            Command(document, line, tuple(words), inline=True)
            for words in split(content)
            if words[0] in INLINE_PROGRAMS and not (len(words) > 1 and PLACEHOLDER in words[1])
        ]
    return found


def documented_commands() -> list[Command]:
    """Every command of the README and docs/, fenced and inline, in document order."""
    return [command for document in DOCUMENTS for command in (*_fenced(document), *_inline(document))]
