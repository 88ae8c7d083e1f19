"""Package formats as adapters: each turns application data sets into the files of one format.

A format is one `PackageAdapter` in `ADAPTERS`; the export (`exports.py`), the per-case downloads and the JSON
Lines stream go through them, so the GIS operator's own format for the experiment, once published, is one
new adapter here and nothing else. Today's:

| name | media type | layout | what |
|---|---|---|---|
| `efiling-pdf` | application/pdf | files | application, calculation, list of attachments as PDF |
| `html` | text/html | files | the printable application with the calculation |
| `jsonl` | application/x-ndjson | stream | the data set, one application per line |

`layout` says how a bundle holds them: `files` are a folder per application, `stream` outputs are joined
into one member per bundle (`applications.jsonl`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, Literal, Protocol

from jinja2 import Environment, PackageLoader, select_autoescape

from app.domain.court import documents
from app.domain.court.documents import Fonts

#: One application's data set as `packages.application_data` returns it (already masked for the caller).
ApplicationData = Mapping[str, Any]


@dataclass(frozen=True)
class PackageFile:
    """One file an adapter wrote for an application."""

    name: str
    data: bytes


class PackageAdapter(Protocol):
    """Writes the files of one package format."""

    @property
    def name(self) -> str:
        """Return the format's name (`format` in the API)."""

    @property
    def media_type(self) -> str:
        """Return the media type of the files it writes."""

    @property
    def layout(self) -> Literal["files", "stream"]:
        """Return `files` (a folder per application) or `stream` (outputs joined into one member)."""

    def write(self, cases: Sequence[ApplicationData], *, today: date) -> list[tuple[PackageFile, ...]]:
        """Return each application's files, in order (a batch: fixed costs are paid once per call).

        Pure and picklable, so an export may run it in a worker process.
        """


@dataclass(frozen=True)
class JsonLinesAdapter:
    """The application data set, one JSON object per line."""

    name: str = "jsonl"
    media_type: str = "application/x-ndjson"
    layout: Literal["files", "stream"] = "stream"

    def write(self, cases: Sequence[ApplicationData], *, today: date) -> list[tuple[PackageFile, ...]]:
        """Return one line per application."""
        del today  # the data set carries its own dates
        return [
            (
                PackageFile(
                    "applications.jsonl", (json.dumps(c, ensure_ascii=False, default=str) + "\n").encode()
                ),
            )
            for c in cases
        ]


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("app.domain", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["notice_citation"] = documents.notice_citation
    return env


def render_html(data: ApplicationData, *, today: date) -> str:
    """Render the printable application (заявление о вынесении судебного приказа) as HTML."""
    return _environment().get_template("court_application.html").render(app=data, today=today.isoformat())


@dataclass(frozen=True)
class HtmlAdapter:
    """The printable application with its calculation, as HTML for the browser's print (A4)."""

    name: str = "html"
    media_type: str = "text/html"
    layout: Literal["files", "stream"] = "files"

    def write(self, cases: Sequence[ApplicationData], *, today: date) -> list[tuple[PackageFile, ...]]:
        """Return one `application.html` per application."""
        return [(PackageFile("application.html", render_html(c, today=today).encode()),) for c in cases]


@dataclass(frozen=True)
class EFilingPdfAdapter:
    """What magistrates' e-filing takes: the application, the calculation and the attachments list as PDF."""

    fonts: Fonts
    name: str = "efiling-pdf"
    media_type: str = "application/pdf"
    layout: Literal["files", "stream"] = "files"

    def write(self, cases: Sequence[ApplicationData], *, today: date) -> list[tuple[PackageFile, ...]]:
        """Return `application.pdf`, `calculation.pdf` and `attachments.pdf` per application."""
        del today  # the documents are dated by the claim's filing date
        rendered = documents.render_cases(cases, self.fonts)
        return [
            tuple(PackageFile(name, data) for name, data in zip(documents.FILE_NAMES, files, strict=True))
            for files in rendered
        ]


FORMATS = ("efiling-pdf", "html", "jsonl")


def adapter_for(name: str, *, fonts: Callable[[], Fonts]) -> PackageAdapter:
    """Return the adapter of a format name (KeyError for an unknown one; the API checks `FORMATS` first).

    `fonts` is asked only by the formats that draw documents.
    """
    if name == "efiling-pdf":
        return EFilingPdfAdapter(fonts())
    if name == "html":
        return HtmlAdapter()
    if name == "jsonl":
        return JsonLinesAdapter()
    raise KeyError(name)
