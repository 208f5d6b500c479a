"""Source code and structured text (.py, .js, .ts, .java, .c, .go, .rs, .sql, .json, .yaml, .toml, ...): the text
as written, cut where a top-level definition starts (``def``/``class``/``function``/``fn``/``func``, ``CREATE
TABLE``, a top-level key or ``[section]``), each piece headed by its definition, so chunks follow the structure. A
definition indented one level (a method in a class) is a second-level heading; the comments and decorators right
above a definition go with it. Recognising definitions by their first line is deliberately simple: no parser runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.documents.extract.common import Builder, Extracted, Limits, headings, push_heading

_NOT_CONTROL = r"(?!(?:if|for|foreach|while|switch|catch|return|else|do|try|using|lock|sizeof|new|delete|throw|case)\b)"
_JAVA_MODS = r"(?:(?:public|private|protected|internal|static|final|abstract|sealed|partial|data|open|inline|case|" \
             r"synchronized|override|virtual|async|native|suspend|default|readonly|unsafe|extern)\s+)*"
_COMMENT = re.compile(r"^\s*(?:@|#(?![a-z]+\b)|//|/\*|\*|--|;|%)")  # a comment or decorator line


@dataclass(frozen=True)
class _Lang:
    top: re.Pattern[str]  # a definition at column 0
    nested: re.Pattern[str] | None = None  # a definition indented one level (methods)


def _re(*alternatives: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile("(?:" + "|".join(alternatives) + ")", flags)


_PY = _re(r"(?:async\s+def|def|class)\s+\w+")
_JS_TOP = _re(r"(?:export\s+(?:default\s+)?)?(?:declare\s+)?(?:async\s+)?function\b",
              r"(?:export\s+(?:default\s+)?)?(?:declare\s+)?(?:abstract\s+)?class\s+[\w$]+",
              r"(?:export\s+)?(?:declare\s+)?(?:interface|type|enum|namespace|module)\s+[\w$]+",
              r"(?:export\s+)?(?:const|let|var)\s+[\w$]+\s*(?::[^=]+)?=\s*(?:async\s+)?"
              r"(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[\w$]+\s*=>)")
_JS_METHOD = _re(r"(?:(?:public|private|protected|static|async|readonly|get|set|override|abstract)\s+)*"
                 + _NOT_CONTROL + r"[\w$#]+\s*(?:<[^>]*>)?\([^)]*\)\s*(?::[^{]+)?\{\s*$")
_JAVA_TOP = _re(_JAVA_MODS + r"(?:class|interface|enum|record|struct|object|trait|namespace|@interface)\s+\w+",
                _JAVA_MODS + r"(?:fun|def)\s+[\w.<>]+")
_JAVA_METHOD = _re(_JAVA_MODS + r"(?:class|interface|enum|record|struct|object|trait|fun|def)\s+\w+",
                   _JAVA_MODS + _NOT_CONTROL + r"[\w<>\[\],.?]+(?:\s+[\w<>\[\],.?]+)*\s+\w+\s*\([^;=]*[{)]\s*$")
_C_TOP = _re(r"(?:typedef\s+)?(?:struct|class|union|enum|namespace)\b[^;]*$", r"template\s*<",
             _NOT_CONTROL + r"[A-Za-z_][\w\s*&:<>,~]*?[\w:~]+\s*\([^;]*$")
_RUST = _re(r"(?:pub(?:\([^)]*\))?\s+)?(?:(?:async|const|unsafe|extern\s+\"[^\"]*\")\s+)*fn\s+\w+",
            r"(?:pub(?:\([^)]*\))?\s+)?(?:struct|enum|trait|impl|mod|union|type)\b", r"macro_rules!")
_RUBY = _re(r"(?:def|class|module)\s+\S")
_PHP = _re(r"(?:(?:public|private|protected|static|abstract|final)\s+)*function\s+&?\w+",
           r"(?:(?:abstract|final|readonly)\s+)*(?:class|interface|trait|enum)\s+\w+")
_SWIFT = _re(r"(?:(?:public|private|internal|fileprivate|open|static|final|override|mutating|@\w+)\s+)*"
             r"(?:func|class|struct|enum|protocol|extension|actor)\s+\w+")

_LANGS: dict[str, _Lang] = {
    "py": _Lang(_PY, _PY), "pyi": _Lang(_PY, _PY),
    **dict.fromkeys(("js", "mjs", "cjs", "jsx", "ts", "tsx"), _Lang(_JS_TOP, _JS_METHOD)),
    **dict.fromkeys(("java", "kt", "kts", "scala", "cs"), _Lang(_JAVA_TOP, _JAVA_METHOD)),
    **dict.fromkeys(("c", "h", "cc", "cpp", "cxx", "hpp", "hh"), _Lang(_C_TOP)),
    "go": _Lang(_re(r"func\b", r"type\s+\w+")),
    "rs": _Lang(_RUST, _RUST),
    "rb": _Lang(_RUBY, _RUBY),
    "php": _Lang(_PHP, _PHP),
    "swift": _Lang(_SWIFT, _SWIFT),
    "lua": _Lang(_re(r"(?:local\s+)?function\s+[\w.:]+")),
    "pl": _Lang(_re(r"sub\s+\w+", r"package\s+[\w:]+")),
    **dict.fromkeys(("sh", "bash", "zsh"), _Lang(_re(r"function\s+[\w\-.:]+", r"[\w\-.:]+\s*\(\s*\)"))),
    "ps1": _Lang(_re(r"function\s+[\w\-]+", flags=re.I)),
    "sql": _Lang(_re(r"(?:CREATE|ALTER)\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY|UNIQUE|MATERIALIZED|GLOBAL)\s+)*"
                     r"(?:TABLE|VIEW|FUNCTION|PROCEDURE|TRIGGER|INDEX|SCHEMA|TYPE|SEQUENCE|DATABASE)\b", flags=re.I)),
    **dict.fromkeys(("yaml", "yml"), _Lang(_re(r"""[^\s#\-'"][^:#]*:(?:\s|$)""", r"""["'][^"']+["']\s*:(?:\s|$)"""))),
    **dict.fromkeys(("toml", "ini", "cfg"), _Lang(_re(r"\[\[?[^\]]+\]\]?\s*(?:[#;].*)?$"))),
}
_JSON_KEY = re.compile(r'^([ \t]+)"(?:[^"\\]|\\.)*"\s*:')


def _indent(line: str) -> int:
    stripped = line.lstrip(" \t")
    return len(line[: len(line) - len(stripped)].expandtabs(4))


def _label(line: str) -> str:
    label = " ".join(line.split()).rstrip("{:=(;, ")
    return label if len(label) <= 100 else label[:99] + "…"


def _definitions(lines: list[str], suffix: str) -> list[tuple[int, int]]:
    """(line number, heading level) of each definition, in order."""
    if suffix == "json":
        keys = [(i, len(m.group(1).expandtabs(4))) for i, line in enumerate(lines) if (m := _JSON_KEY.match(line))]
        top = min((width for _, width in keys), default=0)
        return [(i, 1) for i, width in keys if width == top]
    lang = _LANGS.get(suffix)
    if lang is None:
        return []
    found: list[tuple[int, int]] = []
    for i, line in enumerate(lines):
        width = _indent(line)
        body = line[len(line) - len(line.lstrip(" \t")):]
        if width == 0 and lang.top.match(body):
            found.append((i, 1))
        elif 0 < width <= 4 and lang.nested is not None and lang.nested.match(body) and found:
            found.append((i, 2))
    return found


def read_code(path: Path, name: str, text: str, limits: Limits) -> Extracted:
    """One section per definition (with the comments right above it) and one for the text before the first,
    headed by the definition's line (a method under its class); indentation is kept."""
    lines = text.split("\n")
    builder = Builder(name, limits)
    stack: list[tuple[int, str]] = []
    starts: list[tuple[int, int, str]] = []  # (first line of the piece, level, heading)
    floor = 0
    for line_no, level in _definitions(lines, path.suffix.lower().lstrip(".")):
        first = line_no
        while first - 1 >= floor and lines[first - 1].strip() and _COMMENT.match(lines[first - 1]):
            first -= 1  # the definition's comments and decorators go with it
        starts.append((first, level, _label(lines[line_no])))
        floor = line_no + 1
    begin = 0
    for first, level, heading in starts:
        builder.add("\n".join(lines[begin:first]), None, headings(stack), keep_indent=True)
        push_heading(stack, level, heading)
        begin = first
    builder.add("\n".join(lines[begin:]), None, headings(stack), keep_indent=True)
    return Extracted(path=str(path), kind="code", title=path.name, text=builder.text(), sections=builder.sections)
