"""The `plans:` section of a partner: one price-plan version, its scope and its pricing model's config."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from leadbill.domain.errors import PricingError
from leadbill.domain.pricing import model_from_config
from leadbill.loader.schema.problems import SIDES, Problem
from leadbill.loader.schema.specs import PlanSpec
from leadbill.loader.schema.values import _choice, _Fields, _instant, _join, _slug, _text

if TYPE_CHECKING:
    from leadbill.loader.schema.document import _Reader


def read_plan(
    reader: _Reader,
    path: str,
    raw: Any,
    *,
    tz: ZoneInfo | None,
    is_buyer: bool,
    is_supplier: bool,
    has_profile: Callable[[str], bool],
    has_lead_type: Callable[[str], bool],
) -> PlanSpec | None:
    f = _Fields(reader.problems, path, raw)
    if not f.ok:
        return None
    model = f.read("model", _text(20))
    effective_from = f.read("from", lambda v: _instant(v, tz))
    side = f.read("side", _choice(SIDES), "sell" if is_buyer or not is_supplier else "buy")
    if side == "sell" and not is_buyer:
        f.problem("side", "a sell plan needs the partner's buyer role")
    if side == "buy" and not is_supplier:
        f.problem("side", "a buy plan needs the partner's supplier role")
    profile = f.read("profile", _slug, None)
    if profile and not has_profile(profile):
        f.problem("profile", f"no profile {profile!r} for this partner, in the file or the database")
    lead_type = f.read("lead_type", _slug, None)
    if lead_type and not has_lead_type(lead_type):
        f.problem("lead_type", f"no lead type {lead_type!r} in this entity, in the file or the database")
    # What is left is the pricing model's own configuration; the model names its bad key.
    config = {key: value for key, value in f.raw.items() if key not in f.known}
    f.known.extend(str(key) for key in config)
    normalised: dict[str, Any] = {}
    if model:
        try:
            normalised = model_from_config(model, config).to_config()
        except PricingError as exc:
            reader.problems.append(Problem(_join(path, exc.field) if exc.field else path, exc.message))
    f.close()
    return PlanSpec(
        path=path,
        model=model,
        config=normalised,
        effective_from=effective_from,
        side=side,
        profile=profile,
        lead_type=lead_type,
    )
