"""Python source as light HTML: highlighted by the standard tokenizer, wrapped to its column, lines markable.

The page draws code this way rather than with `st.code`, whose highlighter is a large script the browser
must load before the page is usable; a run's take-home page shows its program the same way, with no script at all.
"""

from __future__ import annotations

import html
import io
import keyword
import tokenize

from twolayer.teach.stage_diff import ADDED, REMOVED, SAME, Part

# Okabe-Ito colours, readable on a projector.
TOKEN_COLOURS = {"keyword": "#0b4fb3", "string": "#00754a", "comment": "#636363", "number": "#a3410b"}
CSS = """<style>
.tl-code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.8rem;
  line-height: 1.5; background: #fafafa; border: 1px solid #d0d0d0; border-radius: 6px; padding: 0.4rem 0; }
.tl-line { display: flex; border-left: 6px solid transparent; padding-right: 0.5rem; }
.tl-num { flex: none; width: 2.5ch; padding-right: 1ch; text-align: right; color: #444; user-select: none; }
/* Long lines wrap with a hanging indent, so a comment never runs off the column. */
.tl-src { white-space: pre-wrap; overflow-wrap: anywhere; padding-left: 8ch; text-indent: -8ch; color: #111; }
.tl-quiet .tl-src, .tl-quiet .tl-src span { color: #636363; }
.tl-current { background: #ffe9a8; outline: 2px solid #111; outline-offset: -2px; font-weight: 700; }
/* A stage's difference: blue for added, orange for removed (told apart with red-green colour blindness), and a
   + or − in the margin, so no meaning rests on colour alone. */
.tl-added { background: #dcebfa; border-left-color: #0072B2; }
.tl-removed { background: #fbe6d6; border-left-color: #D55E00; }
.tl-removed .tl-src { text-decoration: line-through; text-decoration-color: #8a3a00; }
.tl-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.tl-note { margin: 0.5rem 0.5rem 0.2rem 0.5rem; padding: 0.2rem 0.5rem; border-left: 4px solid #111;
  font-family: "Source Sans Pro", sans-serif; font-size: 0.9rem; color: #111; }
</style>"""


def code_html(
    source: str,
    label: str,
    marks: dict[int, tuple[str, str]] | None = None,
    current: int | None = None,
) -> str:
    """`source` as HTML; `marks` maps a line index (from 0) to (number shown, colour of its margin), and lines
    without a mark are greyed when there are marks; `current` is the index of the highlighted line."""
    rows = []
    for index, line in enumerate(highlighted_lines(source)):
        number, colour = (marks or {}).get(index, ("", None))
        classes = (
            "tl-line" + (" tl-current" if index == current else "") + (" tl-quiet" if marks and not colour else "")
        )
        style = f' style="border-left-color: {colour}"' if colour else ""
        here = ' aria-current="true"' if index == current else ""
        rows.append(f'<div class="{classes}"{style}{here}><span class="tl-num">{number}</span>'
                    f'<span class="tl-src">{line or " "}</span></div>')  # fmt: skip
    return f'{CSS}<div class="tl-code" role="figure" aria-label="{html.escape(label)}">{"".join(rows)}</div>'


def diff_html(parts: list[Part], label: str) -> str:
    """A stage's program as lines removed and added since the previous stage, each changed part under its note."""
    rows = []
    for part in parts:
        if part.note:
            rows.append(
                f'<div class="tl-note"><strong>{html.escape(part.name)}:</strong> {html.escape(part.note)}</div>'
            )
        # Each side highlighted as the program it belongs to: a removed line is code of the previous stage.
        sides = {mark: iter(highlighted_lines("\n".join(line for m, line in part.lines if m in (SAME, mark))))
                 for mark in (REMOVED, ADDED)}  # fmt: skip
        for mark, _ in part.lines:
            shown = next(sides[mark]) if mark != SAME else next(sides[ADDED])
            if mark == SAME:
                next(sides[REMOVED])  # the same line stands on both sides
            sign, kind, said = _MARKS[mark]
            # The sign for the eye, the word for a screen reader (an aria-label on a plain span is not read).
            margin = (
                f'<span class="tl-sign" aria-hidden="true">{sign}</span><span class="tl-sr">{said}</span>'
                if sign
                else ""
            )
            rows.append(f'<div class="tl-line{kind}"><span class="tl-num">{margin}</span>'
                        f'<span class="tl-src">{shown or " "}</span></div>')  # fmt: skip
        rows.append('<div class="tl-line"><span class="tl-src"> </span></div>')
    return f'{CSS}<div class="tl-code" role="figure" aria-label="{html.escape(label)}">{"".join(rows)}</div>'


_MARKS = {SAME: ("", "", ""), REMOVED: ("−", " tl-removed", "removed: "), ADDED: ("+", " tl-added", "added: ")}


def highlighted_lines(source: str) -> list[str]:
    """Each line of `source` as escaped HTML, keywords, strings, comments and numbers coloured."""
    lines = source.splitlines()
    spans: dict[int, list[tuple[int, int, str]]] = {}  # line index -> (start column, end column, kind)
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            kind = _kind(token)
            if kind is None:
                continue
            (row, col), (end_row, end_col) = token.start, token.end
            for r in range(row, end_row + 1):  # a string may span lines
                start = col if r == row else 0
                end = end_col if r == end_row else len(lines[r - 1])
                spans.setdefault(r - 1, []).append((start, end, kind))
    except (tokenize.TokenError, IndentationError):
        spans = {}  # not whole Python: show it plain
    out = []
    for index, line in enumerate(lines):
        pieces, at = [], 0
        for start, end, kind in sorted(spans.get(index, [])):
            pieces.append(_breakable(line[at:start]))
            pieces.append(f'<span style="color: {TOKEN_COLOURS[kind]}">{html.escape(line[start:end])}</span>')
            at = end
        pieces.append(_breakable(line[at:]))
        out.append("".join(pieces))
    return out


def _breakable(code: str) -> str:
    """Code (not a string, comment or number) escaped, with a place to wrap after each dot."""
    # A long call chain then wraps at an attribute (`SeedSequence(seed).` / `spawn(3)`), not inside a name.
    return html.escape(code).replace(".", ".<wbr>")


def _kind(token: tokenize.TokenInfo) -> str | None:
    if token.type == tokenize.COMMENT:
        return "comment"
    if token.type == tokenize.STRING:
        return "string"
    if token.type == tokenize.NUMBER:
        return "number"
    if token.type == tokenize.NAME and keyword.iskeyword(token.string):
        return "keyword"
    return None
