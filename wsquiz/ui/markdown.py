"""Markdown as Rich draws it, except code blocks: their long lines keep their indentation.
Apart from the other views, so that Markdown's parser is loaded only by the views that need it."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown, MarkdownElement
from rich.padding import Padding

from wsquiz.ui.code import CodeView


class _HangingCodeBlock(CodeBlock):
    """A Markdown code block drawn by CodeView, so its long lines keep their indentation."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        view = CodeView(code, self.lexer_name, theme=self.theme, line_numbers=False)
        yield Padding(view, 1, style=view.base)


class CourseMarkdown(Markdown):
    """Markdown as Rich draws it, but code blocks wrap as CodeView does, in the course's theme."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "fence": _HangingCodeBlock,
        "code_block": _HangingCodeBlock,
    }

    def __init__(self, markup: str, code_theme: str = "ansi_dark", **options: Any) -> None:
        super().__init__(markup, code_theme=code_theme, **options)
