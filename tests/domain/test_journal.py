"""The journal: every document and money event balances, per document and per batch; bad documents are named."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadbill.domain import journal as j

ACCOUNTS = j.Accounts(
    receivables="1400",
    payables="1600",
    cash="1200",
    revenue="8400",
    cost="3400",
    tax_payable="1776",
    tax_receivable="1576",
    other="2400",
    cash_by_currency={"USD": "1210"},
    revenue_by_lead_type={"solar": "8410"},
    cost_by_lead_type={"solar": "3410"},
    tax_rates=(j.TaxAccount(1900, sales_code="3", purchase_code="9"), j.TaxAccount(700, "1771", "1571", "2", "8")),
)


def _doc(kind: str, lines: list[tuple[int, int, str]], *, currency: str = "EUR", number: str = "RE-1") -> j.Facts:
    taxes: dict[int, list[int]] = {}
    for net, rate, _ in lines:
        taxes.setdefault(rate, [0, 0])
        taxes[rate][0] += net
    tax = tuple(j.Tax(rate, net, net * rate // 10000) for rate, (net, _) in sorted(taxes.items()))
    total = sum(n for n, _, _ in lines) + sum(t.tax_minor for t in tax)
    return j.Facts(kind, f"{kind}:1", number, date(2026, 3, 5), currency, total,
                   lines=tuple(j.Line(n, r, lt) for n, r, lt in lines), taxes=tax)  # fmt: skip


def _by_account(entry: j.Entry) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for p in entry.postings:
        d, c = out.get(p.account, (0, 0))
        out[p.account] = (d + p.debit_minor, c + p.credit_minor)
    return out


def test_invoice_debits_receivables_and_credits_revenue_per_lead_type_and_tax_per_rate():
    entry = j.journal_entry(_doc(j.INVOICE, [(10000, 1900, "solar"), (5000, 1900, ""), (2000, 700, "")]), ACCOUNTS)
    assert _by_account(entry) == {
        "1400": (19990, 0),
        "8410": (0, 10000),
        "8400": (0, 7000),
        "1776": (0, 2850),
        "1771": (0, 140),
    }
    codes = {(p.account, p.tax_rate_bp): p.tax_code for p in entry.postings if p.tax_rate_bp is not None}
    assert codes[("8410", 1900)] == "3"
    assert codes[("1771", 700)] == "2"


def test_credit_note_is_the_reverse_of_an_invoice_on_the_same_revenue_account():
    invoice = j.journal_entry(_doc(j.INVOICE, [(10000, 1900, "solar")]), ACCOUNTS)
    credit = j.journal_entry(_doc(j.CREDIT_NOTE, [(10000, 1900, "solar")]), ACCOUNTS)
    assert {a: (c, d) for a, (d, c) in _by_account(invoice).items()} == _by_account(credit)


def test_credit_note_goes_to_the_contra_revenue_account_when_one_is_mapped():
    accounts = j.Accounts(**{**{f: getattr(ACCOUNTS, f) for f in ACCOUNTS.__slots__}, "contra_revenue": "8700"})
    entry = j.journal_entry(_doc(j.CREDIT_NOTE, [(10000, 1900, "solar")]), accounts)
    assert _by_account(entry)["8700"] == (10000, 0)
    assert accounts.credit_notes == j.CREDIT_NOTES_CONTRA


def test_self_invoice_debits_cost_and_input_tax_and_credits_payables():
    entry = j.journal_entry(_doc(j.SELF_INVOICE, [(8000, 1900, "solar"), (-1000, 1900, "solar")]), ACCOUNTS)
    assert _by_account(entry) == {"1600": (0, 8330), "3410": (7000, 0), "1576": (1330, 0)}
    assert {p.tax_code for p in entry.postings if p.tax_code} == {"9"}


def test_self_credit_261_is_the_reverse_of_a_self_invoice():
    entry = j.journal_entry(_doc(j.SELF_CREDIT, [(1000, 1900, "")]), ACCOUNTS)
    assert _by_account(entry) == {"1600": (1190, 0), "3400": (0, 1000), "1576": (0, 190)}


@pytest.mark.parametrize(
    ("kind", "debit", "credit"),
    [
        (j.PAYMENT, "1210", "1400"),
        (j.TOPUP, "1210", "1400"),
        (j.PAYMENT_REVERSAL, "1400", "1210"),
        (j.REFUND, "1400", "1210"),
        (j.WRITE_OFF, "2400", "1400"),
        (j.PAYOUT_PAID, "1600", "1210"),
    ],
)
def test_money_events_post_cash_against_the_party_account_in_their_currency(kind, debit, credit):
    entry = j.journal_entry(j.Facts(kind, f"{kind}:1", "BANK-7", date(2026, 3, 9), "USD", 4250), ACCOUNTS)
    assert _by_account(entry) == {debit: (4250, 0), credit: (0, 4250)}


def test_a_document_whose_lines_do_not_sum_to_its_total_is_refused_by_number_and_difference():
    good = _doc(j.INVOICE, [(10000, 1900, "")], number="RE-2026-0007")
    bad = j.Facts(**{**{f: getattr(good, f) for f in good.__slots__}, "total_minor": good.total_minor + 3})
    with pytest.raises(j.UnbalancedDocument) as exc:
        j.journal([_doc(j.INVOICE, [(1, 0, "")]), bad], ACCOUNTS)
    assert exc.value.number == "RE-2026-0007"
    assert exc.value.difference_minor == -3
    assert "RE-2026-0007" in str(exc.value) and "-3" in str(exc.value)


def test_every_unbalanced_document_of_a_journal_is_named_at_once():
    a = j.Facts(j.INVOICE, "invoice:1", "RE-1", date(2026, 1, 1), "EUR", 5, lines=(j.Line(4, 0),))
    b = j.Facts(j.SELF_INVOICE, "self:2", "GS-9", date(2026, 1, 1), "EUR", 5, lines=(j.Line(7, 0),))
    with pytest.raises(j.UnbalancedJournal) as exc:
        j.journal([a, b], ACCOUNTS)
    assert "RE-1" in str(exc.value) and "GS-9" in str(exc.value)


_lines = st.lists(
    st.tuples(
        st.integers(min_value=-(10**9), max_value=10**11),
        st.sampled_from([0, 700, 1900, 2000, 825]),
        st.sampled_from(["", "solar", "roofing"]),
    ),
    min_size=1,
    max_size=8,
)
_document = st.builds(
    lambda kind, lines, currency: _doc(kind, lines, currency=currency),
    st.sampled_from(j.DOCUMENT_KINDS),
    _lines,
    st.sampled_from(["EUR", "USD", "JPY"]),
).filter(lambda f: f.total_minor >= 0)
_money = st.builds(
    lambda kind, amount, currency: j.Facts(kind, f"{kind}:1", "REF", date(2026, 1, 1), currency, amount),
    st.sampled_from(j.MONEY_KINDS),
    st.integers(min_value=1, max_value=10**12),
    st.sampled_from(["EUR", "USD", "JPY"]),
)


@given(st.lists(st.one_of(_document, _money), max_size=25))
def test_any_document_set_balances_per_document_and_per_batch(facts):
    entries = j.journal(facts, ACCOUNTS)
    for entry in entries:
        assert entry.debit_minor == entry.credit_minor
        assert all(p.debit_minor >= 0 and p.credit_minor >= 0 for p in entry.postings)
        assert all((p.debit_minor == 0) != (p.credit_minor == 0) for p in entry.postings)
    for debits, credits in j.totals(entries).values():
        assert debits == credits
    trial = j.account_totals(entries)
    for currency in {f.currency for f in facts}:
        assert sum(d - c for (cur, _), (d, c) in trial.items() if cur == currency) == 0


@given(_document, st.integers(min_value=1, max_value=10**6), st.booleans())
def test_any_document_off_its_total_is_refused_with_the_difference(doc, off, up):
    total = doc.total_minor + off if up else doc.total_minor - off
    if total < 0:
        return
    bad = j.Facts(doc.kind, doc.key, "DOC-1", doc.on, doc.currency, total, lines=doc.lines, taxes=doc.taxes)
    with pytest.raises(j.UnbalancedDocument) as exc:
        j.journal_entry(bad, ACCOUNTS)
    assert exc.value.number == "DOC-1"
    assert exc.value.difference_minor == (-off if up else off)
