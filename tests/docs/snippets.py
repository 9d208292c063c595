"""Running the code blocks of the README and the guides, as a reader would paste them.

A page is one session: its ``python`` blocks run in order in one namespace (top-
level ``await`` allowed, as in ``python -m asyncio``), its ``bash`` blocks run as
scripts in one working folder, and its ``toml`` / ``yaml`` / ``json`` blocks are
parsed (tenant files as tenant files). Text blocks are output and are not run.

An HTML comment just before a block steers it:

- ``<!-- docs: file NAME -->`` — also write the block to NAME in the working folder
  (a tenant file a later command reads);
- ``<!-- docs: skip REASON -->`` — do not run it (a command that never returns,
  such as a server; the reason is required);
- ``<!-- docs: exit N -->`` — the bash block must end with exit code N.

Placeholders a reader replaces (``sk_live_...``, ``whsec_...``) are replaced
with the test server's values; nothing else is changed.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Block", "blocks_of", "run_python"]

_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*docs:\s*(?P<verb>file|skip|exit)\s*(?P<arg>.*?)\s*-->\s*$")


@dataclass
class Block:
    """One fenced block of a page."""

    page: Path
    line: int
    lang: str
    code: str
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"


def blocks_of(page: Path) -> Iterator[Block]:
    """The fenced blocks of a Markdown page, with the directives just before them."""
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    directives: dict[str, str] = {}
    while index < len(lines):
        directive = _DIRECTIVE.match(lines[index])
        if directive:
            directives[directive["verb"]] = directive["arg"]
            index += 1
            continue
        fence = _FENCE.match(lines[index])
        if not fence:
            if lines[index].strip():
                directives = {}
            index += 1
            continue
        indent, start = len(fence["indent"]), index + 1
        index += 1
        while index < len(lines) and not re.match(r"^\s*```\s*$", lines[index]):
            index += 1
        code = "\n".join(line[indent:] for line in lines[start:index]) + "\n"
        yield Block(page, start, fence["lang"] or "text", code, directives)
        directives = {}
        index += 1


def substitute(code: str, values: Mapping[str, str]) -> str:
    """The code with the reader's placeholders replaced."""
    for placeholder, value in values.items():
        code = code.replace(placeholder, value)
    return code


def run_python(code: str, namespace: dict[str, Any], runner: asyncio.Runner, where: str) -> None:
    """Run one block in the page's namespace (top-level ``await`` on the page's loop)."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    compiled = compile(code, where, "exec", flags=flags)
    if compiled.co_flags & 0x80:  # CO_COROUTINE: the block awaits at top level
        result = eval(compiled, namespace)
        runner.run(result)
    else:
        exec(compiled, namespace)
