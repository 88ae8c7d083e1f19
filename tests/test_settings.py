"""Settings: README's table (variable → field), `.env` files, JSON values, refusals in production."""

from __future__ import annotations

import json
import os
import re
import types
from datetime import date
from decimal import Decimal
from functools import reduce
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import SecretStr, TypeAdapter, ValidationError
from pydantic_settings import SettingsError

from app.settings import REPO_ROOT, Group, Settings, WebhookTarget


def _readme_rows() -> list[tuple[str, str]]:
    """Return (variable, dotted field) pairs of README's settings table."""
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| Name | Field | Default | Meaning |")
    pairs: list[tuple[str, str]] = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        name, field = line.split(" | ")[:2]
        variables = re.findall(r"`(GISGW_\w+)`", name)
        fields = re.findall(r"`([\w.]+)`", field)
        assert len(variables) == len(fields), line
        pairs.extend(zip(variables, fields, strict=True))
    return pairs


README_ROWS = _readme_rows()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Start every test without GISGW_* variables and without a `.env` in the working directory."""
    for name in [n for n in os.environ if n.startswith("GISGW_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _field(settings: Settings, path: str) -> Any:
    return reduce(getattr, path.split("."), settings)


def _annotation(path: str) -> Any:
    """Return the type annotation of a dotted field."""
    *groups, name = path.split(".")
    model: type[Settings] | type[Group] = Settings
    for group in groups:
        model = model.model_fields[group].annotation  # type: ignore[assignment]
    return model.model_fields[name].annotation, model.model_fields[name].default


def _sample(annotation: Any, default: Any = None) -> Any:
    """Return a JSON-level value of the annotated type that differs from `default`."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return _sample(next(a for a in args if a is not type(None)), default)
    if origin is Literal:
        return next(a for a in args if a != default)
    if origin is list:
        return [_sample(args[0])]
    if origin is tuple:
        return [_sample(a) for a in args]
    if origin is dict:
        return {str(_sample(args[0])): _sample(args[1])}
    samples: dict[Any, Any] = {
        bool: not default,
        # A value past the field's lower bound (e.g. body caps of at least 1 KiB) where the default is large.
        int: default + 7 if isinstance(default, int) and default >= 1024 else 7,
        float: 7.5,
        Decimal: "0.123",
        date: "2031-01-02",
        Path: "/srv/gisgw-sample",
        str: "sample",
        SecretStr: "s3cret-value",
        Any: "sample",
        # Models inside a setting: a value their own constraints accept.
        WebhookTarget: {"url": "https://hooks.example/gis", "secret": "sample-secret-16-chars"},
    }
    return samples[annotation]


def _raw(value: Any) -> str:
    """Render a JSON-level value as an environment variable: JSON for lists and maps, plain otherwise."""
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def test_readme_table_lists_every_setting_once() -> None:
    variables = [variable for variable, _ in README_ROWS]
    assert len(variables) == len(set(variables))
    assert dict(README_ROWS) == dict(Settings.variables())


@pytest.mark.parametrize(("variable", "path"), README_ROWS, ids=[v for v, _ in README_ROWS])
def test_read_every_readme_variable_into_its_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, path: str
) -> None:
    annotation, default = _annotation(path)
    sample = _sample(annotation, default)
    before = _field(Settings(), path)
    monkeypatch.setenv(variable, _raw(sample))

    value = _field(Settings(), path)

    assert value != before
    if isinstance(value, SecretStr):
        assert value.get_secret_value() == sample
    else:
        # Compared as values (SecretStr inside a model compares its secret; its JSON dump would be masked).
        assert value == TypeAdapter(annotation).validate_python(sample)


def test_read_dotenv_file_below_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        'GISGW_GIS_BASE_URL=http://gis.example\nGISGW_STAND_FAULT_SEED=9\nGISGW_COURT_PILOT_REGIONS=["16"]\n'
        "GISGW_GIS_READ_TIMEOUT=30\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GISGW_GIS_READ_TIMEOUT", "45")

    settings = Settings()

    assert settings.gis.base_url == "http://gis.example"
    assert settings.stand.faults.seed == 9
    assert settings.court.pilot_regions == ["16"]
    assert settings.gis.read_timeout == 45.0
    assert Settings(_env_file=None).gis.base_url == "http://127.0.0.1:8081"  # type: ignore[call-arg]


def test_merge_arguments_with_environment_within_a_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GISGW_GIS_READ_TIMEOUT", "45")

    settings = Settings(gis={"base_url": "http://gis.example"})

    assert settings.gis.base_url == "http://gis.example"
    assert settings.gis.read_timeout == 45.0


def test_refuse_malformed_json_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GISGW_GIS_POLL_SCHEDULE", "[10, 60")

    with pytest.raises(SettingsError, match="GISGW_GIS_POLL_SCHEDULE"):
        Settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GISGW_GIS_BASIC_PASSWORD", "changeme"),
        ("GISGW_GIS_BASIC_PASSWORD", " Password "),
        ("GISGW_REMOTE_SIGNER_TOKEN", "secret"),
        ("GISGW_DEMO_KEY", "gk_demo"),
        ("GISGW_DATABASE_URL", "sqlite+aiosqlite:///:memory:"),
    ],
)
def test_refuse_placeholders_in_production(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert Settings(env="development")  # allowed outside production

    monkeypatch.setenv("GISGW_ENV", "production")
    with pytest.raises(ValidationError, match=variable):
        Settings()


def test_accept_real_secrets_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GISGW_ENV", "production")
    monkeypatch.setenv("GISGW_GIS_BASIC_PASSWORD", "Kq7-real-password")
    monkeypatch.setenv("GISGW_REMOTE_SIGNER_TOKEN", "tok-9f2c")

    settings = Settings()

    assert settings.gis.basic_password is not None
    assert settings.gis.basic_password.get_secret_value() == "Kq7-real-password"
    assert "Kq7" not in repr(settings)
