"""Reads of payouts: the API's and the webhooks' payout shows the amounts every page shows."""

from __future__ import annotations

import pytest

from leadbill.payouts import services as s
from leadbill.payouts.models import Payout
from leadbill.payouts.selectors import payout_amounts, payout_as_dict, payouts_as_dicts, with_details
from tests.payouts.conftest import ACTOR, compute, opt_in

pytestmark = pytest.mark.django_db


def test_a_pending_payouts_dict_carries_the_estimated_tax_the_pages_show(world):
    opt_in(world)
    payout = compute(world)
    s.payout_transition(actor=ACTOR, payout=payout, to="pending")
    payout = Payout.objects.select_related("entity", "partner").get(pk=payout.pk)
    shown = payout_amounts([payout])[payout.pk]
    out = payout_as_dict(payout)
    assert (out["net"], out["tax"], out["total"], out["tax_estimated"]) == ("132.50", "25.18", "157.68", True)
    assert (shown.tax_minor, shown.total_minor, shown.estimated) == (2_518, 15_768, True)
    assert payouts_as_dicts([payout]) == [out]
    s.payout_transition(actor=ACTOR, payout=payout, to="ready")
    out = payout_as_dict(Payout.objects.get(pk=payout.pk))  # the self-invoice's own figures: the same
    assert (out["net"], out["tax"], out["total"], out["tax_estimated"]) == ("132.50", "25.18", "157.68", False)


def test_a_page_of_draft_payouts_reads_their_amounts_in_a_fixed_number_of_queries(world, django_assert_num_queries):
    opt_in(world)
    compute(world)
    rows = list(with_details(Payout.objects.select_related("entity", "partner")))
    with django_assert_num_queries(3):  # agreements, profiles, line sums: not per payout
        payouts_as_dicts(rows * 5)
