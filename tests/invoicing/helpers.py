from leadbill.invoicing.models import BilledLead, Invoice
from leadbill.invoicing.services import invoice_run_issue

ACTOR = "test:finance"


def issue(entity, period, **kw):
    result = invoice_run_issue(actor=ACTOR, entity=entity, period=period, **kw)
    assert result.failures == {}, result.failures
    return result


def lines_of(invoice: Invoice):
    return [(line.kind, line.quantity, line.amount_minor) for line in invoice.lines.order_by("position")]


def billed_sum(invoice: Invoice) -> int:
    return sum(BilledLead.objects.filter(invoice=invoice).values_list("amount_minor", flat=True))


def assert_per_lead_detail_matches_lines(invoice: Invoice) -> None:
    """The per-lead detail of an invoice sums exactly to each of its usage lines."""
    for line in invoice.lines.all():
        if line.rank_from is None:
            continue
        amounts = list(BilledLead.objects.filter(line=line).values_list("amount_minor", flat=True))
        assert (len(amounts), sum(amounts)) == (line.quantity, line.amount_minor), line.description
