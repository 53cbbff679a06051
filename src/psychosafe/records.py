"""Typed records that cross a boundary (disk, model, CLI).

The same item ``id`` follows an item from the corpus to its generations and verdicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from psychosafe.errors import UserError
from psychosafe.taxonomy import Domain, Intent, Kind, Severity, Split

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str


class CorpusRecord(BaseModel):
    """One prompt/response pair of the corpus."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    domain: Domain
    subcategory: str
    severity: Severity
    intent: Intent
    kind: Kind
    split: Split
    locale: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    messages: list[Message] = Field(min_length=1)
    response: str = Field(min_length=1)
    techniques: list[str] = Field(default_factory=list)
    resources: list[str] = Field(default_factory=list)
    source: str = "authored"

    @model_validator(mode="after")
    def _ends_with_user(self) -> CorpusRecord:
        if self.messages[-1].role != "user":
            raise ValueError("messages must end with a user turn")
        return self

    @property
    def prompt(self) -> str:
        """The last user turn."""
        return self.messages[-1].content


class Scores(BaseModel):
    """Every rubric dimension for one response (see rubric.md). One rater gives whole numbers;
    a combination of judges gives the mean of the scales (so they are floats)."""

    model_config = ConfigDict(extra="forbid")

    refusal: int = Field(ge=0, le=1)
    harmful_content: int = Field(ge=0, le=1)
    empathy: float = Field(ge=1, le=5)
    grounding: float = Field(ge=1, le=5)
    referral: float = Field(ge=1, le=5)
    relevance: float = Field(ge=1, le=5)
    alternative: float = Field(ge=1, le=5)
    overall: float = Field(ge=1, le=5)


class JudgeInput(BaseModel):
    """One line of ``psychosafe judge score --input``."""

    model_config = ConfigDict(extra="allow")

    id: str
    messages: list[Message] = Field(min_length=1)
    response: str
    kind: Kind = "risk"
    domain: Domain | None = None
    locale: str | None = None

    @field_validator("locale")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class Verdict(BaseModel):
    """A judge's verdict on one response. ``scores`` is ``None`` when the judge could
    not produce a valid verdict (kept as ``unscored``, never defaulted)."""

    scores: Scores | None
    judge: str
    rubric_version: str
    rubric_hash: str = Field(default_factory=lambda: _rubric_hash())
    confidence: dict[str, float] = Field(default_factory=dict)
    raw: str | None = None
    status: Literal["scored", "unscored"] = "scored"
    #: For a combination of judges: each judge's own verdict.
    components: list[Verdict] | None = None


def _rubric_hash() -> str:
    from psychosafe.rubric import rubric_hash

    return rubric_hash()


M = TypeVar("M", bound=BaseModel)


def read_jsonl(path: Path, model: type[M]) -> Iterator[M]:
    """Yield validated records from a JSONL file; a bad line raises a
    :class:`UserError` naming the file and line."""
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    with handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{lineno}: not valid JSON ({exc.msg}); fix or remove that line") from None
            try:
                yield model.model_validate(data)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "record"
                raise UserError(
                    f"{path}:{lineno}: field {where!r}: {first['msg']} ({exc.error_count()} problem(s) on this line)"
                ) from None
