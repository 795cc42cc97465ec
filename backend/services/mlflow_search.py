"""MLflow's search grammar, the part scripts use: `filter` strings and `order_by` lists of runs/search
and experiments/search, evaluated over the records the service built. Pure; no SQL.

    filter     clauses joined by AND: `<entity>.<key> <op> <value>` with entity metrics | params |
               tags | attributes (and their aliases: metric, param, parameter(s), tag, attr, run;
               none: an attribute); keys may be `back-quoted` or "double-quoted"; ops =, !=, <, <=,
               >, >= (numbers), LIKE, ILIKE, IN (...), NOT IN (...), IS NULL, IS NOT NULL (strings)
    order_by   `<entity>.<key> [ASC|DESC]`; missing values sort last either way

Anything else (OR, parentheses around clauses, datasets) is an Invalid naming what was not understood.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from backend.errors import Invalid

T = TypeVar("T")

_ENTITIES = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
_ATTRIBUTE_ALIASES = {"run name": "run_name", "created": "start_time", "run_uuid": "run_id"}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?(?![\w.]))
    | (?P<op>!=|<>|>=|<=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>(?:[A-Za-z_]\w*\.)?(?:`[^`]+`|"[^"]+"|[\w.\-/:]+))
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Record:
    """What a filter or an order_by can name of one run or experiment."""

    attributes: dict[str, str | float | None]
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def get(self, entity: str, key: str) -> str | float | None:
        sources: dict[str, dict[str, Any]] = {
            "metric": self.metrics,
            "param": self.params,
            "tag": self.tags,
            "attribute": self.attributes,
        }
        return sources[entity].get(key)


@dataclass(frozen=True)
class Clause:
    entity: str
    key: str
    op: str
    value: Any = None


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _identifier(word: str, attributes: set[str]) -> tuple[str, str]:
    entity, dot, key = word.partition(".")
    if not dot or entity.lower() not in _ENTITIES:
        entity, key = "attribute", word
    else:
        entity = _ENTITIES[entity.lower()]
    key = _unquote(key)
    if entity == "attribute":
        key = _ATTRIBUTE_ALIASES.get(key.lower(), key)
        if key not in attributes:
            raise Invalid(f"Invalid attribute key '{key}' specified. Valid keys are {sorted(attributes)}")
    return entity, key


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Invalid(f"Invalid filter '{text}': cannot read from '{text[pos:][:30]}'")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def parse_filter(text: str | None, attributes: set[str]) -> list[Clause]:
    """The AND-joined clauses of a filter string ([] for none)."""
    if not text or not text.strip():
        return []
    tokens = _tokens(text)
    clauses: list[Clause] = []
    i = 0

    def take() -> tuple[str, str]:
        nonlocal i
        if i >= len(tokens):
            raise Invalid(f"Invalid filter '{text}': it ends in the middle of a clause")
        i += 1
        return tokens[i - 1]

    def value() -> str | float:
        kind, raw = take()
        if kind == "string":
            return _unquote(raw)
        if kind == "number":
            return float(raw)
        raise Invalid(f"Invalid filter '{text}': expected a value, got '{raw}'")

    while True:
        kind, word = take()
        if kind != "word":
            raise Invalid(f"Invalid filter '{text}': expected a column name, got '{word}'")
        entity, key = _identifier(word, attributes)
        kind, op = take()
        op = op.upper()
        if op == "NOT":
            op = "NOT " + take()[1].upper()
        if op == "IS":
            nxt = take()[1].upper()
            op = "IS NOT NULL" if nxt == "NOT" and take()[1].upper() == "NULL" else "IS NULL"
            if nxt not in ("NOT", "NULL"):
                raise Invalid(f"Invalid filter '{text}': expected IS NULL or IS NOT NULL")
            clauses.append(Clause(entity, key, op))
        elif op in ("IN", "NOT IN"):
            if take()[1] != "(":
                raise Invalid(f"Invalid filter '{text}': {op} needs a list in parentheses")
            values = [value()]
            while (sep := take()[1]) == ",":
                values.append(value())
            if sep != ")":
                raise Invalid(f"Invalid filter '{text}': the list after {op} is not closed")
            clauses.append(Clause(entity, key, op, tuple(str(v) for v in values)))
        elif op in ("=", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "ILIKE"):
            clauses.append(Clause(entity, key, "!=" if op == "<>" else op, value()))
        else:
            raise Invalid(f"Invalid filter '{text}': unknown comparator '{op}'")
        if i == len(tokens):
            return clauses
        if take()[1].upper() != "AND":
            raise Invalid(f"Invalid filter '{text}': clauses are joined by AND (OR is not supported)")


def _like(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """SQL LIKE as a regular expression: % any run of characters, _ any one."""
    wildcards = {"%": ".*", "_": "."}
    return re.compile("".join(wildcards.get(c) or re.escape(c) for c in pattern), flags | re.DOTALL)


def _holds(clause: Clause, record: Record) -> bool:
    actual, op, wanted = record.get(clause.entity, clause.key), clause.op, clause.value
    if op == "IS NULL":
        return actual is None
    if op == "IS NOT NULL":
        return actual is not None
    if actual is None:
        return False
    if op in ("IN", "NOT IN"):
        return (str(actual) in wanted) == (op == "IN")
    if op in ("LIKE", "ILIKE"):
        return _like(str(wanted), re.IGNORECASE if op == "ILIKE" else 0).fullmatch(str(actual)) is not None
    if isinstance(actual, float | int) and not isinstance(actual, bool):
        try:
            left, right = float(actual), float(wanted)
        except ValueError as exc:
            raise Invalid(f"'{clause.key}' is a number; compare it with a number, not '{wanted}'") from exc
    else:
        left, right = str(actual), str(wanted)  # type: ignore[assignment]
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    return compare[op](left, right)


def matches(clauses: Sequence[Clause], record: Record) -> bool:
    return all(_holds(c, record) for c in clauses)


def order(items: list[T], records: list[Record], order_by: Sequence[str], attributes: set[str]) -> list[T]:
    """`items` sorted by the order_by clauses (stable; missing values last)."""
    pairs = list(zip(items, records, strict=True))
    for clause in reversed(list(order_by)):
        words = clause.strip().split()
        if not words:
            continue
        descending = len(words) > 1 and words[-1].upper() == "DESC"
        if len(words) > 1 and words[-1].upper() in ("ASC", "DESC"):
            words = words[:-1]
        entity, key = _identifier(" ".join(words), attributes)
        present = [p for p in pairs if p[1].get(entity, key) is not None]
        missing = [p for p in pairs if p[1].get(entity, key) is None]

        def sort_key(pair: tuple[T, Record], entity: str = entity, key: str = key) -> tuple[int, Any]:
            v = pair[1].get(entity, key)
            return (0, v) if isinstance(v, float | int) else (1, str(v))

        pairs = sorted(present, key=sort_key, reverse=descending) + missing
    return [item for item, _ in pairs]


def page(items: list[T], max_results: int, page_token: str | None) -> tuple[list[T], str | None]:
    """One page and the token of the next (an offset written out), or None at the end."""
    if max_results < 1 or max_results > 50_000:
        raise Invalid(f"Invalid value {max_results} for parameter 'max_results': must be 1 to 50000")
    start = offset(page_token)
    end = start + max_results
    return items[start:end], (str(end) if end < len(items) else None)


def offset(page_token: str | None) -> int:
    """Where a page token says the next page starts (tokens are offsets written out)."""
    if not page_token:
        return 0
    if not (page_token.isascii() and page_token.isdigit()) or len(page_token) > 12:
        raise Invalid(f"Invalid page token '{page_token[:40]}'")
    return int(page_token)
