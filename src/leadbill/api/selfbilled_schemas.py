"""Schemas of the supplier's acceptance of self-billed documents (kept beside `schemas`, which is long)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field


class AcceptanceOut(Schema):
    state: Literal["pending", "accepted", "disputed"] = Field(description="deemed acceptance is accepted, deemed true")
    deemed: bool = Field(description="accepted because the agreement's period passed without a dispute")
    due_at: datetime | None = Field(description="deemed accepted from then on, unless disputed")
    at: datetime | None
    by: str | None = Field(description="the portal user, the API key (api:<prefix>), or system:self-billing")
    via: Literal["portal", "api", "system"] | None
    address: str | None = Field(description="the address the decision came from")
    reason: str | None = Field(description="the supplier's reason, for a dispute")


class DisputeIn(Schema):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = Field(description="what is wrong with it")
