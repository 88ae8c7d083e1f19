"""Fast lxml reading helpers for GIS replies: prefixed paths resolved once, xs:date/dateTime/boolean."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any, TypeVar

from lxml import etree

from app.gis_client.errors import GisProtocolError
from app.gis_client.operations import NS

T = TypeVar("T")

_FRACTION = re.compile(r"(\.\d{6})\d+")


def _short(tag: str) -> str:
    """Render `{ns}local` with the conventional prefix, for readable error messages."""
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        for prefix, known in NS.items():
            if known == uri:
                return f"{prefix}:{local}"
    return tag


def element_path(element: etree._Element) -> str:
    """Return a readable XPath with stable prefixes (`/soap:Envelope/soap:Body/drs:x/drs:action[3]`)."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        tag = node.tag
        if not isinstance(tag, str):
            break
        step = _short(tag)
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == tag]
            if len(same) > 1:
                step += f"[{same.index(node) + 1}]"
        steps.append(step)
        node = parent
    return "/" + "/".join(reversed(steps))


@functools.lru_cache(maxsize=2048)
def _clark(path: str) -> tuple[str, tuple[str, ...]]:
    """Resolve `drs:a/base:b` to Clark notation once: the whole path and its steps."""
    steps = tuple(
        f"{{{NS[p]}}}{local}" if sep else p for p, sep, local in (s.partition(":") for s in path.split("/"))
    )
    return "/".join(steps), steps


# lxml's find(path, namespaces) re-keys its path cache on the sorted namespaces dict at every call, which was
# most of the cost of parsing a 100-subrequest page; Clark paths resolved once and iterchildren (C) avoid it.


def _find(el: etree._Element, path: str) -> etree._Element | None:
    full, steps = _clark(path)
    if len(steps) == 1:
        return next(el.iterchildren(full), None)
    return el.find(full)


def _need(el: etree._Element, path: str) -> etree._Element:
    found = _find(el, path)
    if found is None:
        raise GisProtocolError(f"missing {path} in {element_path(el)}")
    return found


def _text(el: etree._Element, path: str) -> str | None:
    found = _find(el, path)
    return None if found is None else (found.text or "")


def _req(el: etree._Element, path: str) -> str:
    return _need(el, path).text or ""


def _iter(el: etree._Element, path: str) -> Iterator[etree._Element]:
    full, steps = _clark(path)
    return el.iterchildren(full) if len(steps) == 1 else el.iterfind(full)


def _all(el: etree._Element, path: str) -> list[etree._Element]:
    return list(_iter(el, path))


def _texts(el: etree._Element, path: str) -> tuple[str, ...]:
    return tuple(c.text or "" for c in _iter(el, path))


#: Single-step prefixed name → Clark name (`drs:x` → `{…/drs/}x`), filled on first use; a plain dict lookup
#: is cheaper than the lru_cache call of `_clark` on the ~3,900 field reads of a 100-subrequest page.
_STEP: dict[str, str] = {}


def _step(path: str) -> str | None:
    """Return the Clark name of a single-step path (cached), None for a longer path."""
    full, steps = _clark(path)
    if len(steps) != 1:
        return None
    _STEP[path] = full
    return full


class _Kids:
    """The children of one element indexed by tag in a single pass, for parsers reading many of them."""

    # A subrequest is ~40 elements read ~55 times; one pass plus dict lookups is several times cheaper than
    # one lxml child search per field. Only single-step paths are indexed; longer ones fall back to _find.
    # The accessors repeat the lookup inline instead of calling each other: a Python call per field read
    # was most of what remained of parsing a page.
    __slots__ = ("el", "_first")

    def __init__(self, el: etree._Element) -> None:
        self.el = el
        # Built from the last child to the first, so the first child of each tag is the one kept.
        self._first: dict[Any, etree._Element] = {child.tag: child for child in reversed(el)}

    def find(self, path: str) -> etree._Element | None:
        full = _STEP.get(path) or _step(path)
        if full is not None:
            return self._first.get(full)
        return self.el.find(_clark(path)[0])

    def need(self, path: str) -> etree._Element:
        full = _STEP.get(path)
        found = self._first.get(full) if full is not None else self.find(path)
        if found is None:
            raise GisProtocolError(f"missing {path} in {element_path(self.el)}")
        return found

    def text(self, path: str) -> str | None:
        full = _STEP.get(path)
        found = self._first.get(full) if full is not None else self.find(path)
        return None if found is None else (found.text or "")

    def req(self, path: str) -> str:
        full = _STEP.get(path)
        found = self._first.get(full) if full is not None else self.find(path)
        if found is None:
            raise GisProtocolError(f"missing {path} in {element_path(self.el)}")
        return found.text or ""

    def all(self, path: str) -> list[etree._Element]:
        return _all(self.el, path)


def maker(cls: type[T]) -> Callable[..., T]:
    """Return a positional constructor of a frozen slotted dataclass that skips its generated __init__.

    A frozen dataclass's __init__ sets each field through object.__setattr__; a 100-subrequest page builds
    ~1,000 of them, and storing through the slots' own descriptors is ~2.5x cheaper. The instance is the
    same (fields in declaration order, all required here; no __post_init__, checked), equal and hashable.
    """
    params = dataclasses.fields(cls)  # type: ignore[arg-type]
    if not getattr(cls, "__slots__", None) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: maker needs a slotted dataclass without __post_init__")
    names = [f.name for f in params]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    scope.update({f"_set{i}": vars(cls)[name].__set__ for i, name in enumerate(names)})
    lines = [f"def make_{cls.__name__}({', '.join(names)}):", "    o = _new(_cls)"]
    lines += [f"    _set{i}(o, {name})" for i, name in enumerate(names)]
    exec("\n".join([*lines, "    return o"]), scope)  # noqa: S102 - generated from the class's own fields
    made: Callable[..., T] = scope[f"make_{cls.__name__}"]
    return made


def _map(value: str | None, fn: Callable[[str], T]) -> T | None:
    return None if value is None else fn(value)


def to_bool(value: str) -> bool:
    """Parse xs:boolean."""
    return value.strip() in ("true", "1")


def to_date(value: str) -> date:
    """Parse xs:date, ignoring a timezone suffix GIS sometimes adds (`2025-01-31+03:00`)."""
    return date.fromisoformat(value.strip()[:10])


def to_datetime(value: str) -> datetime:
    """Parse xs:dateTime, including .NET's 7-digit fractions seen in production."""
    return datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))


def _guid(value: str) -> str:
    return value.strip()
