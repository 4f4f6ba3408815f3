"""Property: any sequence of receivables operations keeps the ledger equal to what happened.

For a fresh partner with three issued invoices, Hypothesis draws a sequence of pay, reverse,
credit, apply, void, write-off and refund. A small reference model applies the rules as the
issue states them (a credit settles its invoice up to what is open, the rest is credit on
account; applying spends it oldest first; a reversed payment whose credit on account was spent
takes back what was applied since it arrived, newest first). After every step:
- the ledger balance equals issued totals − payments + reversals − credits − write-offs + refunds;
- each invoice's open amount, status and paid amount (the cached columns) match the model;
- no open amount is ever negative.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadbill.invoicing.models import Invoice, Payment
from leadbill.invoicing.services import invoice_void, payment_record
from leadbill.receivables import services as ledger
from leadbill.receivables.selectors import credit_on_account, open_minor, partner_accounts
from tests.factories import make_partner

pytestmark = pytest.mark.django_db
ACTOR = "test:property"
TOTALS = (1000, 2500, 700)
_codes = count()

operation = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, 2), st.integers(1, 3000)),
    st.tuples(st.just("reverse"), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("credit"), st.integers(0, 2), st.integers(1, 3000)),
    st.tuples(st.just("apply"), st.just(0), st.just(0)),
    st.tuples(st.just("void"), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("write_off"), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("refund"), st.just(0), st.integers(1, 3000)),
)


def issued_invoices(entity, partner):
    invoices = []
    for i, total in enumerate(TOTALS):
        inv = Invoice.objects.create(
            entity=entity, partner=partner, kind="invoice", status="issued", series="invoice",
            sequence=next(_codes) + 1000, number=f"P-{partner.code}-{i}", currency="USD",
            subtotal_minor=total, total_minor=total, issue_date=date(2026, 1, 1) + timedelta(days=i),
            due_date=date(2026, 2, 1) + timedelta(days=i), payment_terms_days=30,
        )  # fmt: skip
        invoices.append(inv)
    with transaction.atomic():
        ledger.open_entries(invoices, actor=ACTOR)
    return invoices


class Model:
    def __init__(self) -> None:
        self.open = list(TOTALS)
        self.status = ["issued"] * 3
        self.paid = [0] * 3
        self.written_off = [False] * 3
        self.account = 0  # credit on account (negative: owed on account)
        self.payments: list[tuple[int, int, int, int]] = []  # invoice, applied, on account, when
        self.applications: list[tuple[int, int, int]] = []  # when, invoice, amount (< 0 applied, > 0 taken back)
        self.clock = 0
        self.reversed: set[int] = set()
        self.moved = 0  # issued − payments + reversals − credits − write-offs + refunds

    def credit(self, i: int, amount: int) -> tuple[int, int]:
        applied = max(0, min(amount, self.open[i]))
        self.open[i] -= applied
        self.account += amount - applied
        return applied, amount - applied

    def settle(self, i: int) -> None:
        if self.status[i] == "void":
            return
        if self.open[i] <= 0:
            self.status[i] = "written_off" if self.written_off[i] else "paid"
        elif self.open[i] < TOTALS[i]:
            self.status[i] = "partially_paid"
        else:
            self.status[i] = "issued"

    def is_open(self, i: int) -> bool:
        return self.status[i] in ("issued", "partially_paid")

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def take_back_spent_credit(self, since: int) -> None:
        """A reversal that leaves a debt on account takes back the credit applied since the payment, newest first."""
        debt = -self.account
        net: dict[int, int] = {}
        last: dict[int, int] = {}
        for when, i, amount in self.applications:
            if when > since:
                net[i] = net.get(i, 0) + amount
                last[i] = max(last.get(i, 0), when)
        for i in sorted((i for i in net if net[i] < 0 and self.status[i] != "void"), key=lambda k: -last[k]):
            if debt <= 0:
                break
            take = min(debt, -net[i])
            self.open[i] += take
            self.account += take
            self.applications.append((self.tick(), i, take))
            debt -= take


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operation, min_size=1, max_size=12))
def test_any_sequence_keeps_the_ledger_equal_to_what_happened(entity, steps):
    entity.credit_on_account = "manual"
    entity.save()
    partner = make_partner(entity, code=f"prop-{next(_codes)}", currency="USD")
    invoices = issued_invoices(entity, partner)
    model = Model()
    model.moved = sum(TOTALS)
    payments: list[Payment] = []
    for op, index, amount in steps:
        if op == "pay" and model.is_open(index):
            payments.append(payment_record(actor=ACTOR, invoice=invoices[index], amount_minor=amount,
                                           paid_on=date(2026, 3, 1)))  # fmt: skip
            applied, on_account = model.credit(index, amount)
            model.paid[index] += applied
            model.payments.append((index, applied, on_account, model.tick()))
            model.moved -= amount
        elif op == "reverse" and index < len(payments) and index not in model.reversed:
            ledger.payment_reverse(actor=ACTOR, payment=payments[index], reason="bounced")
            i, applied, on_account, when = model.payments[index]
            model.open[i] += applied
            model.paid[i] -= applied
            model.account -= on_account
            model.reversed.add(index)
            model.settle(i)
            model.take_back_spent_credit(when)
            model.moved += applied + on_account
        elif op == "credit" and model.is_open(index):
            with transaction.atomic():
                ledger.credit_entries(actor=ACTOR, partner=partner, currency="USD", kind="credit_note",
                                      amount_minor=amount, target=invoices[index], occurred_on=date(2026, 3, 2))  # fmt: skip
            model.credit(index, amount)
            model.moved -= amount
        elif op == "apply" and model.account > 0 and any(model.is_open(i) and model.open[i] for i in range(3)):
            ledger.credit_apply(actor=ACTOR, partner=partner, currency="USD")
            for i in sorted(range(3), key=lambda k: invoices[k].due_date):
                if model.is_open(i):
                    take = min(model.account, model.open[i])
                    model.open[i] -= take
                    model.account -= take
                    if take:
                        model.applications.append((model.tick(), i, -take))
        elif op == "void" and model.is_open(index) and model.paid[index] == 0 and not model.written_off[index]:
            # (written off, then reopened by a reversed payment: refused, a credit note corrects it)
            invoice_void(actor=ACTOR, invoice=invoices[index], reason="cancelled")
            model.status[index] = "void"
            model.credit(index, TOTALS[index])
            model.moved -= TOTALS[index]
        elif op == "write_off" and model.is_open(index):
            ledger.invoice_write_off(actor=ACTOR, invoice=invoices[index], reason="lost")
            model.moved -= model.open[index]
            model.open[index] = 0
            model.written_off[index] = True
        elif op == "refund" and 0 < amount <= model.account:
            ledger.credit_refund(actor=ACTOR, partner=partner, currency="USD", amount_minor=amount)
            model.account -= amount
            model.moved += amount
        else:
            continue
        for i in range(3):
            model.settle(i)
            stored = Invoice.objects.get(pk=invoices[i].pk)
            assert open_minor(stored) == model.open[i] >= 0, (op, i)
            assert (stored.status, stored.paid_minor) == (model.status[i], model.paid[i]), (op, i)
        account = partner_accounts(partner)["USD"]
        assert account.balance_minor == model.moved == sum(model.open) - model.account
        assert credit_on_account(partner, "USD") == max(0, model.account)
