"""`{% partner_cycle partner %}`: the partner page's billing-cycle section, owned by the automation views.

An inclusion tag keeps the section (its schedule lookup and form) in one place, so the partner
page carries a single line for it and the automation views handle its writes.
"""

from __future__ import annotations

from typing import Any

from django import template

from leadbill.partners.models import Partner

register = template.Library()


@register.inclusion_tag("console/_partner_cycle.html", takes_context=True)
def partner_cycle(context: template.Context, partner: Partner) -> dict[str, Any]:
    from leadbill.console.views.automation import cycle_context

    keep = {k: context.get(k) for k in ("request", "csrf_token", "can_write")}
    return {**keep, **cycle_context(partner)}
