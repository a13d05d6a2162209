"""JSON text fast enough for large documents: pretty-printed down to a given depth and one compact
line per value below it, so the C encoder does the bulk (``json.dumps`` with ``indent`` runs the
pure-Python encoder, 3-5x slower). Used by the reports and the CycloneDX / SPDX JSON writers."""

from __future__ import annotations

import json
from typing import Any


def dumps(obj: Any, depth: int, *, lines: frozenset[str] = frozenset(), indent: int = 2) -> str:
    """``obj`` as JSON, indented down to ``depth`` levels of containers and deeper values compact
    on one line each; the items of a list under a key in ``lines`` are one line each too."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    out: list[str] = []

    def emit(value: Any, level: int) -> None:
        if level >= depth or not isinstance(value, dict | list) or not value:
            out.append(encode(value))
            return
        pad = " " * (indent * (level + 1))
        if isinstance(value, dict):
            out.append("{\n")
            for i, (k, v) in enumerate(value.items()):
                out.append(f"{pad}{encode(k)}: ")
                if k in lines and isinstance(v, list) and v:
                    inner = " " * (indent * (level + 2))
                    out.append("[\n" + ",\n".join(inner + encode(x) for x in v) + "\n" + pad + "]")
                else:
                    emit(v, level + 1)
                out.append(",\n" if i < len(value) - 1 else "\n")
            out.append(" " * (indent * level) + "}")
        else:
            out.append("[\n")
            for i, v in enumerate(value):
                out.append(pad)
                emit(v, level + 1)
                out.append(",\n" if i < len(value) - 1 else "\n")
            out.append(" " * (indent * level) + "]")

    emit(obj, 0)
    return "".join(out)
