"""The partner's rate card (page and PDF) and the notice of a scheduled price change (real SMTP, aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import html
from datetime import UTC, datetime, timedelta

import pypdfium2

from leadbill.audit.models import AuditEvent
from leadbill.catalog.ratecard import current_period, rate_card
from leadbill.domain import periods
from leadbill.mailing.models import EmailSend, SendState
from leadbill.scheduling.services import schedule_set
from tests.factories import TIERS_2_150_1, make_lead_type, make_plan
from tests.mailing.test_smtp import Recorder, smtp  # noqa: F401
from tests.webworld import ACME_USER, BLUE_USER, Site


def pdf_text(content: bytes) -> str:
    doc = pypdfium2.PdfDocument(content)
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def test_the_rate_card_says_prices_caps_returns_payment_and_cycle_in_plain_words(site: Site):
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    make_plan(site.acme, "graduated", {"tiers": TIERS_2_150_1}, effective_from=soon,
              lead_type=make_lead_type(site.entity, "auto"))  # fmt: skip
    site.acme.cap_monthly, site.acme.cap_policy, site.acme.over_cap_price_micros = 600, "price", 750_000
    site.acme.return_max_share_bp, site.acme.payment_terms_days = 1000, 14
    site.acme.save()
    schedule_set(actor="test", entity=site.entity, frequency="monthly")
    page = html.unescape(site.login(ACME_USER).get("/portal/rate-card/").content.decode())
    assert 'All leads</td><td>€2.00 per lead</td><td>since <span class="nowrap">2020-01-01' in page
    assert "Price change scheduled" in page
    assert "Auto leads</td><td>first 100 at €2.00, next 200 at €1.50, then €1.00</td>" in page
    assert "Monthly cap</dt><dd>600 leads" in page and "Leads beyond a cap are billed at €0.75 each." in page
    assert "within 3650 days of delivery" in page and "at most 10.00 % of a month's leads" in page
    assert "due 14 days after the invoice date" in page
    assert f"Monthly ({site.entity.legal_name}'s billing cycle): each calendar month, invoiced on the 1st at" in page
    assert "Duplicate lead" in page  # the reasons a return may give

    response = site.login(ACME_USER).get("/portal/rate-card/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="rate-card-acme-')
    text = pdf_text(response.content)
    for words in ("Rate card", "€2.00 per lead", "first 100 at €2.00, next 200 at €1.50, then €1.00",
                  "Scheduled price changes", "billed at €0.75 each", "due 14 days after the invoice date"):  # fmt: skip
        assert words in text.replace("\r\n", " ").replace("\n", " "), words


def test_a_partners_own_weekly_cycle_is_its_rate_card_cycle_and_its_period(site: Site):
    schedule_set(actor="test", entity=site.entity, partner=site.acme, frequency="weekly",
                 window_start=(0, 0), window_end=(0, 0), generate_at=(0, 360))  # fmt: skip
    card = rate_card(site.acme, datetime(2026, 12, 9, 12, tzinfo=UTC))
    assert card.cycle.startswith(
        "Weekly (your own billing cycle): leads from Monday 00:00 to Monday 00:00, invoiced Monday 06:00"
    )
    period = current_period(site.acme, datetime(2026, 12, 9, 12, tzinfo=UTC))
    assert (period.first_day.isoformat(), period.last_day.isoformat()) == ("2026-12-07", "2026-12-13")
    assert current_period(site.blue, datetime(2026, 12, 9, 12, tzinfo=UTC)) == periods.month(2026, 12, "UTC")


def test_a_scheduled_price_change_emails_the_rate_card_after_commit_and_is_audited(
    site: Site,
    smtp,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    server = smtp(Recorder())
    site.acme.billing_emails = ["ap@acme.test", "cfo@acme.test"]
    site.acme.save()
    soon = (datetime.now(UTC) + timedelta(days=20)).replace(hour=0, minute=0, second=0, microsecond=0)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        plan = make_plan(site.acme, "flat", {"price": "2.40"}, effective_from=soon)
        assert not server.accepted  # nothing leaves before the plan commits
    for callback in callbacks:
        callback()
    send = EmailSend.objects.get(partner=site.acme, purpose__startswith=f"rate_card:{plan.pk}:")
    assert send.state == SendState.SENT
    ((_, rcpt_tos, raw),) = server.accepted
    assert rcpt_tos == ["ap@acme.test", "cfo@acme.test"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"].strip().startswith("Price change from ") and message["Subject"].endswith(
        ": your new rate card"
    )
    body = message.get_body(("plain",)).get_content()
    assert ": €2.40 per lead" in body and "Until then: €2.00 per lead" in body
    (attachment,) = list(message.iter_attachments())
    assert (
        attachment.get_filename().startswith("rate-card-acme-") and attachment.get_content_type() == "application/pdf"
    )
    text = pdf_text(attachment.get_content()).replace("\r\n", " ").replace("\n", " ")
    assert "Scheduled price changes" in text and "€2.40 per lead" in text
    queued = AuditEvent.objects.get(action="price_plan.notice_queued", object_id=str(plan.pk))
    assert queued.data["to"] == ["ap@acme.test", "cfo@acme.test"] and queued.data["send"] == send.pk
    assert AuditEvent.objects.filter(action="email.sent", object_id=str(send.pk)).count() == 1


def test_no_notice_for_a_plan_already_in_force_and_a_skipped_one_is_audited(site: Site):
    make_plan(site.acme, "flat", {"price": "2.10"}, effective_from=datetime.now(UTC) - timedelta(days=1))
    assert not EmailSend.objects.filter(purpose__startswith="rate_card:").exists()
    site.blue.billing_emails, site.blue.contact_email = [], ""
    site.blue.save()
    plan = make_plan(site.blue, "flat", {"price": "1.60"}, effective_from=datetime.now(UTC) + timedelta(days=5))
    assert not EmailSend.objects.filter(purpose__startswith="rate_card:").exists()
    assert AuditEvent.objects.get(action="price_plan.notice_skipped", object_id=str(plan.pk)).data["reason"] == (
        "the partner has no billing email"
    )
    page = html.unescape(site.login(BLUE_USER).get("/portal/rate-card/").content.decode())
    assert "€1.60 per lead" in page and "Prepaid" in page
