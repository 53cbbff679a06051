"""The help-resource directory: services per locale and domain, with provenance."""

from __future__ import annotations

from functools import cache
from importlib import resources as importlib_resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from psychosafe.errors import UserError
from psychosafe.taxonomy import Domain

INTERNATIONAL = "INT"


class Resource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    locale: str = Field(pattern=r"^([A-Z]{2}|INT)$")
    name: str
    domains: list[Domain]
    phone: str | None = None
    text: str | None = None
    web: str | None = None
    hours: str | None = None
    emergency: bool = False
    #: risk subcategories this service is the specialist for (preferred over the domain's general services there)
    subcategories: list[str] = Field(default_factory=list)
    notes: str | None = None
    source: str
    last_verified: str | None = None


class Directory(BaseModel):
    version: int
    resources: list[Resource]

    def get(self, resource_id: str) -> Resource | None:
        return next((r for r in self.resources if r.id == resource_id), None)

    def select(self, locale: str | None = None, domain: str | None = None) -> list[Resource]:
        """Resources for a locale (international ones where the locale has none or is unknown)."""
        wanted = (locale or INTERNATIONAL).upper()
        chosen = [r for r in self.resources if r.locale == wanted]
        if not chosen:
            chosen = [r for r in self.resources if r.locale == INTERNATIONAL]
        if domain:
            chosen = [r for r in chosen if domain in r.domains]
        return chosen


def _load(path: Path | None, text: str) -> Directory:
    where = str(path) if path else "built-in directory"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{where}: not valid YAML ({exc})") from None
    try:
        return Directory.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{where}: {loc}: {first['msg']}") from None


@cache
def builtin_directory() -> Directory:
    text = importlib_resources.files("psychosafe.data.resources").joinpath("directory.yaml").read_text("utf-8")
    return _load(None, text)


def load_directory(extra: Path | None = None) -> Directory:
    """The built-in directory, extended (and overridden by id) with a deployer's own file."""
    base = builtin_directory()
    if extra is None:
        return base
    try:
        text = extra.read_text("utf-8")
    except OSError as exc:
        raise UserError(f"{extra}: cannot read resource file ({exc.strerror})") from None
    own = _load(extra, text)
    merged = {r.id: r for r in base.resources}
    merged.update({r.id: r for r in own.resources})
    return Directory(version=base.version, resources=list(merged.values()))
