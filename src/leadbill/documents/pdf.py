"""Documents as PDF/A-3b through Typst, with the Factur-X XML attached when asked.

Why Typst: measured here (docs/decisions/0005-pdf-engine.md), it renders a one-page invoice
in a few milliseconds as PDF/A-3b with the attachment and AF entry Factur-X needs, from a
pip wheel with no system libraries. Everything is formatted in Python (Babel) and handed to
the template as JSON; the template only lays it out.

Typst compiles in child processes kept between renders (fonts load once per child), so a
render past the time limit (LEADBILL_RENDER_TIMEOUT) is stopped and raises RenderError, a
DomainError the interfaces answer with a message. Typst reads files only below its root:
each render's root holds the templates and that document's logo, nothing else.
"""

from __future__ import annotations

import atexit
import functools
import importlib.resources
import io
import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pikepdf
from pebble import ProcessExpired, ProcessPool

from leadbill.documents import typst_worker
from leadbill.documents.assets import asset_bytes
from leadbill.documents.cii import payment_terms_text
from leadbill.documents.formatting import Formatter
from leadbill.documents.labels import labels
from leadbill.documents.logos import logo_check
from leadbill.domain import document as d
from leadbill.domain import tax
from leadbill.domain.errors import DomainError
from leadbill.domain.generation import MANUAL as MANUAL_LINE
from leadbill.domain.payment_reference import rf_printed

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_RENDER_TIMEOUT = 20.0
FONT_FAMILY = "Source Sans Pro"
ACCENT = "#1f4e79"
FACTURX_FILE = "factur-x.xml"
FACTURX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
# Invoices are tagged for screen readers; the report's long table would grow 14× with tags.
TAGGED = frozenset({"invoice"})
MEDIA_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}


def font_dir() -> Path:
    return Path(str(importlib.resources.files("font_source_sans_pro") / "files"))


class RenderError(DomainError):
    """A document could not be rendered: Typst refused it, or it took longer than the time limit."""

    code = "render"


def render_timeout() -> float:
    """Seconds one render may take (setting LEADBILL_RENDER_TIMEOUT, default 20); past it the render is stopped."""
    try:
        from django.conf import settings

        return float(getattr(settings, "LEADBILL_RENDER_TIMEOUT", DEFAULT_RENDER_TIMEOUT))
    except Exception:  # Django not configured (a script): the default
        return DEFAULT_RENDER_TIMEOUT


class Workspace:
    """This process's Typst renderers: a pebble process pool, started on first use.

    A render past the time limit is stopped (pebble kills its process and starts another), so
    no document holds a web worker past the limit. Each render compiles in a folder holding
    the templates and that document's logo only (see typst_worker). The pool is spawned, not
    forked: a web or task worker has threads and database connections a fork would copy.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.ready = Path(tempfile.mkdtemp(prefix="leadbill-render-ready-"))
        self.pool = ProcessPool(
            max_workers=RENDER_PROCESSES,
            initializer=typst_worker.start,
            initargs=(str(TEMPLATES), str(font_dir()), str(self.ready)),
            context=multiprocessing.get_context("spawn"),
        )
        atexit.register(self.close)

    def compile(
        self,
        template: str,
        inputs: dict[str, str],
        *,
        when: datetime,
        files: dict[str, bytes] | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """The PDF of `template` with `inputs` (and `files` beside it); raises RenderError, never hangs."""
        limit = render_timeout() if timeout is None else timeout
        args = (template, inputs, when.timestamp(), template in TAGGED, files or {})
        return self.run(typst_worker.compile_job, args, limit=limit)

    def run(self, function: Callable[..., bytes], args: tuple[Any, ...], *, limit: float) -> bytes:
        """`function(*args)` in a render process, stopped at `limit` seconds; failures are RenderError."""
        future = self.pool.schedule(function, args=args, timeout=limit)
        try:
            return future.result()
        except FutureTimeout:
            raise RenderError(f"rendering took longer than {limit:g} s and was stopped") from None
        except typst_worker.Failed as exc:
            raise RenderError(str(exc)) from None
        except ProcessExpired as exc:
            raise RenderError(f"the renderer stopped (exit status {exc.exitcode})") from None

    def close(self) -> None:
        """At exit: let render processes that are still starting finish their start, then stop them all.

        A process stopped halfway through its start (spawning, loading Typst and the fonts) can
        leave a half-printed traceback on the command's stderr, so the pool waits, at most
        READY_WAIT seconds, until each live render process has said it is ready. Nothing here
        may raise: it runs as the interpreter exits.
        """
        if os.getpid() != self.pid:
            return
        try:
            deadline = time.monotonic() + READY_WAIT
            while time.monotonic() < deadline and self.starting():
                time.sleep(0.02)
            self.pool.stop()
            self.pool.join(timeout=10)
        except Exception:  # at exit there is no one left to tell
            pass
        finally:
            shutil.rmtree(self.ready, ignore_errors=True)

    def starting(self) -> list[int]:
        """Render processes alive but not yet ready (their start-up has not finished)."""
        return [
            child.pid
            for child in multiprocessing.active_children()
            if child.name == PEBBLE_WORKER_NAME and child.pid and not (self.ready / str(child.pid)).exists()
        ]


PEBBLE_WORKER_NAME = "pebble_pool_worker"  # the name pebble gives its processes (another name: no wait)
READY_WAIT = 30.0  # seconds a command's exit waits for render processes still starting
RENDER_PROCESSES = 2  # per web or task worker process; each holds its fonts and compilers
_workspace: Workspace | None = None
_workspace_lock = threading.Lock()


def workspace() -> Workspace:
    global _workspace
    with _workspace_lock:
        if _workspace is None or _workspace.pid != os.getpid():  # a forked process starts its own pool
            _workspace = Workspace()
        return _workspace


@functools.lru_cache(maxsize=32)
def _logo(sha256: str) -> tuple[str, bytes] | None:
    """The logo a document prints, as (file name, bytes), checked again as it is drawn; None when missing.

    Logos are checked when they are stored; this catches any stored before that check, so a
    hostile logo is refused in milliseconds instead of holding a renderer.
    """
    found = asset_bytes(sha256)
    if found is None:
        return None
    content, _ = found
    try:
        logo = logo_check(content, "the seller's logo")
    except DomainError as exc:
        raise RenderError(exc.message) from None
    return f"logo-{sha256}.{MEDIA_EXT[logo.media_type]}", content


def _compile_document(doc: d.Document, inputs: dict[str, str]) -> bytes:
    """Compile the invoice template for `doc`, naming the document (and its logo) when it cannot be rendered."""
    logo = _logo(doc.seller.logo_sha256) if doc.seller.logo_sha256 else None
    try:
        return workspace().compile("invoice", inputs, when=_timestamp(doc), files=dict([logo]) if logo else None)
    except RenderError as exc:
        cause = "the seller's logo or the document" if logo else "the document"
        raise RenderError(f"{doc.number or 'the document'} could not be rendered ({cause}): {exc.message}") from None


CITY_FIRST = frozenset({"US", "CA", "AU", "GB", "IE"})


def place_line(party: d.Party) -> str:
    """The city line as the country's post writes it: "New York, NY 10001", "Toronto ON M5V 2T6", "10115 Berlin"."""
    city, region, postal = party.city, party.region, party.postal_code
    if party.country == "US":
        head = city + ("," if city and (region or postal) else "")
        return " ".join(x for x in (head, region, postal) if x)
    if party.country in ("CA", "AU"):
        return " ".join(x for x in (city, region, postal) if x)
    if party.country in CITY_FIRST:
        return ", ".join(x for x in (city, region, postal) if x)
    return " ".join(x for x in (postal, city, region) if x)


def _party_lines(party: d.Party, words: dict[str, str], f: Formatter, *, home: str, with_contact: bool) -> list[str]:
    """Address lines as the party's country writes them; the country only when it is not `home`."""
    place = place_line(party)
    country = f.country(party.country) if party.country and party.country != home else ""
    out = [party.address_line1, party.address_line2, place, country]
    if party.tax_id:
        is_vat = bool(tax.vat_id(party.tax_id, party.country))
        out.append(f"{words['vat_id'] if is_vat else words['tax_id']}: {party.tax_id}")
    if with_contact:
        out += [party.email, party.phone]
    else:
        contact = ", ".join(x for x in (party.contact_name, party.email) if x)
        if contact:
            out.append(f"{words['contact']}: {contact}")
    return [x for x in out if x]


def payload(doc: d.Document) -> dict[str, Any]:
    """The JSON the template reads: every string already in the document's language and locale."""
    f = Formatter(doc.locale, doc.currency)
    w = labels(doc.locale)
    language, _, region = doc.locale.partition("_")
    meta: list[tuple[str, str, bool]] = [
        (w["number"], doc.number, True),
        (w["issue_date"], f.date(doc.issue_date), False),
    ]
    if doc.period_first_day and doc.period_last_day:
        meta.append((w["period"], f.period(doc.period_first_day, doc.period_last_day), False))
    if doc.due_date and doc.payable_minor > 0:
        meta.append((w["due_date"], f.date(doc.due_date), True))
    terms = payment_terms_text(doc, w)
    if terms:
        meta.append((w["payment_terms"], terms, False))
    if doc.buyer_reference and doc.buyer_reference != doc.buyer.code:
        meta.append((w["buyer_reference"], doc.buyer_reference, False))
    if doc.preceding_number:
        ref = doc.preceding_number
        if doc.preceding_issue_date:
            ref += f" ({f.date(doc.preceding_issue_date)})"  # the one date format of every document
        meta.append((w["corrects"], ref, False))

    counts = []
    # A manual invoice (typed lines only) sells no leads: no lead counts, and generic column names.
    typed = bool(doc.lines) and all(line.kind == MANUAL_LINE for line in doc.lines)
    if doc.kind != d.SELF_BILLED_INVOICE and doc.kind != d.SELF_BILLED_CREDIT_NOTE and not doc.is_credit and not typed:
        counts = [
            (w["leads_purchased"], f.count(doc.leads_purchased)),
            (w["leads_returned"], f.count(doc.leads_returned)),
        ]

    rows = []
    for line in doc.lines:
        # The quantity the e-invoice states (UBL InvoicedQuantity, CII BilledQuantity): a credit or
        # adjustment on an invoice is a negative quantity at a positive price (EN 16931 BR-27), so
        # the PDF prints -1 × 25.00 = -25.00 where the XML says -1, never 1 beside it.
        quantity, unit, _ = line.invoiced(doc.currency)
        lump = unit == d.UNIT_LUMP_SUM
        if lump and line.unit_price_micros is not None and line.quantity:
            # count × price rounded half-up (333 × 0.015 = 5.00): the e-invoice gives it as a lump sum,
            # the page as the count and price that were billed, never "1 × 0.015 = 5.00".
            quantity = Decimal(line.quantity if line.amount_minor >= 0 else -abs(line.quantity))
        rows.append(
            {
                "position": str(line.position),
                "description": line.description,
                "detail": line.detail,
                "quantity": f.count(quantity),
                "price": _price_text(line, lump, f, w, doc.currency),
                "tax": f.percent(line.tax_rate) if line.tax_category != tax.NOT_SUBJECT else "\u2013",
                "amount": f.money(line.amount_minor),
            }
        )

    totals: list[tuple[str, str, bool]] = [(w["subtotal"], f.money(doc.subtotal_minor), False)]
    for t in doc.taxes:
        if t.category == tax.NOT_SUBJECT:
            continue
        totals.append(
            (w["tax_on"].format(rate=f.percent(t.rate), net=f.money(t.net_minor)), f.money(t.tax_minor), False)
        )
    totals.append((w["total"], f.money(doc.total_minor), not doc.prepaid_minor))
    if doc.prepaid_minor:
        totals.append((w["prepaid"], f.money(-doc.prepaid_minor), False))
        totals.append((w["amount_due"], f.money(doc.payable_minor), True))

    balance: list[tuple[str, str, bool]] = []
    if doc.kind == d.RECEIPT and doc.opening_balance_minor is not None:
        balance = [
            (w["opening_balance"], f.money(doc.opening_balance_minor), False),
            (w["topups"], f.money(doc.topups_minor or 0), False),
            (w["this_receipt"], f.money(-doc.total_minor), False),
            (w["closing_balance"], f.money(doc.closing_balance_minor or 0), True),
        ]

    payment = how_to_pay(doc, w, f)

    # Outside VAT (a US seller) there is nothing to explain; exemptions inside the VAT area need their reason.
    tax_notes = [w[f"vatex_{t.category.lower()}"] for t in doc.taxes if t.category in (tax.REVERSE_CHARGE, tax.EXPORT)]
    show_tax = any(line.tax_category != tax.NOT_SUBJECT for line in doc.lines)
    logo = _logo(doc.seller.logo_sha256) if doc.seller.logo_sha256 else None
    return {
        "title": w[doc.kind],
        "number": doc.number,
        "lang": language or "en",
        "region": region or "US",
        "paper": "us-letter" if region in ("US", "CA") else "a4",
        "accent": ACCENT,
        "logo": logo[0] if logo else None,
        "issuer": {"name": doc.seller.name, "lines": _party_lines(doc.seller, w, f, home="", with_contact=True)},
        "recipient_label": w["bill_to"],
        "recipient": {
            "name": doc.buyer.name,
            "lines": _party_lines(doc.buyer, w, f, home=doc.seller.country, with_contact=False),
        },
        "show_tax": show_tax,
        "meta": meta,
        "self_billing_notice": w["self_billing_notice"] if doc.is_self_billed else "",
        "counts": counts,
        "columns": [
            "#",
            w["description"],
            w["quantity_items" if typed else "quantity"],
            w["unit_price_items" if typed else "unit_price"],
            w["tax"],
            w["amount"],
        ],
        "lines": rows,
        "totals": totals,
        "balance_label": w["prepay_account"],
        "balance": balance,
        "tax_notes": tax_notes,
        "notes": list(doc.notes),
        "payment": payment,
        "footer": doc.footer or doc.seller.name,
        "questions": questions_line(doc, w),
        "page_label": w["page"],
    }


def questions_line(doc: d.Document, w: dict[str, str]) -> str:
    """Whom to ask about this document, naming its kind ("Questions about this credit note: ...").

    The issuer answers: the seller on our own documents, the business (the buyer) on a
    self-billed one, which the business issues on the supplier's behalf.
    """
    issuer = doc.buyer if doc.is_self_billed else doc.seller
    contact = issuer.email or issuer.phone
    if not contact:
        return ""
    what = w[doc.kind]
    return w["questions"].format(what=what, what_lower=what[:1].lower() + what[1:], contact=contact)


def how_to_pay(doc: d.Document, w: dict[str, str], f: Formatter) -> dict[str, Any] | None:
    """The "How to pay" block: amount and due date, the account in the document's currency, the
    remit-to address and the RF payment reference; None when nothing is to be paid."""
    if doc.is_credit or doc.payable_minor <= 0:
        return None
    amount = f.money(doc.payable_minor)
    intro = (
        w["pay_by"].format(amount=amount, due=f.date(doc.due_date))
        if doc.due_date
        else w["pay_now"].format(amount=amount)
    )
    rows: list[tuple[str, str]] = []
    account = doc.payment_account
    if account:
        rows.append((w["account_holder"], account.account_name or doc.seller.name))
        if account.bank_name:
            rows.append((w["bank"], account.bank_name))
        if account.iban:
            rows.append((w["iban"], _iban(account.iban)))
            if account.bic:
                rows.append((w["bic"], account.bic))
        else:
            rows += [(w["ach_routing"], account.ach_routing), (w["account_number"], account.ach_account)]
            if account.wire_routing:
                rows.append((w["wire_routing"], account.wire_routing))
            if account.bic:
                rows.append((w["swift"], account.bic))
    return {
        "title": w["payment"],
        "intro": intro,
        "rows": rows,
        "remit_label": w["remit_to"],
        "remit": list(doc.remit_to),
        "reference_label": w["pay_reference"],
        "reference": rf_printed(doc.payment_reference),
        "reference_note": w["pay_reference_note"],
    }


def _price_text(line: d.Line, lump: bool, f: Formatter, w: dict[str, str], currency: str) -> str:
    """The price per lead; leads billed at their own delivered prices say so instead of a made-up average."""
    if line.unit_price_micros is not None:
        return f.price(line.unit_price_micros)
    if line.kind in ("charge", "prior_period"):
        return w["varies"]
    if lump:
        return w["lump_sum"]
    _, _, price = line.invoiced(currency)
    return f.price(int(price.scaleb(6)))


def _iban(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _timestamp(doc: d.Document) -> datetime:
    """The PDF's dates are the issue date: the same document renders to the same bytes."""
    return datetime(doc.issue_date.year, doc.issue_date.month, doc.issue_date.day, tzinfo=UTC)


def render_pdf(doc: d.Document) -> bytes:
    """The human-readable document as PDF/A-3b."""
    return _compile_document(doc, {"doc": json.dumps(payload(doc))})


def render_facturx(doc: d.Document, xml: bytes) -> bytes:
    """Factur-X: the PDF/A-3b with the CII XML attached, and the XMP that declares it (EN 16931 profile)."""
    pdf = _compile_document(doc, {"doc": json.dumps(payload(doc)), "facturx": xml.decode("utf-8")})
    return add_facturx_metadata(pdf)


_FX_SCHEMA = f"""<rdf:li rdf:parseType="Resource"><pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>\
<pdfaSchema:namespaceURI>{FACTURX_NS}</pdfaSchema:namespaceURI><pdfaSchema:prefix>fx</pdfaSchema:prefix>\
<pdfaSchema:property><rdf:Seq>{
    "".join(
        f'<rdf:li rdf:parseType="Resource"><pdfaProperty:name>{name}</pdfaProperty:name>'
        f"<pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>"
        f"<pdfaProperty:description>{text}</pdfaProperty:description></rdf:li>"
        for name, text in (
            ("DocumentFileName", "The name of the embedded XML document"),
            ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
            ("Version", "The actual version of the standard applying to the embedded XML document"),
            ("ConformanceLevel", "The conformance level of the embedded XML document"),
        )
    )
}</rdf:Seq></pdfaSchema:property></rdf:li>"""

_FX_DESCRIPTION = (
    f'<rdf:Description rdf:about="" xmlns:fx="{FACTURX_NS}"><fx:DocumentType>INVOICE</fx:DocumentType>'
    f"<fx:DocumentFileName>{FACTURX_FILE}</fx:DocumentFileName><fx:Version>1.0</fx:Version>"
    "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description>"
)


def add_facturx_metadata(pdf: bytes) -> bytes:
    """Typst writes the PDF/A-3 XMP; Factur-X adds its own properties and their extension schema."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        xmp = doc.Root.Metadata.read_bytes().decode("utf-8")
        if "</pdfaExtension:schemas>" in xmp:
            xmp = xmp.replace(
                "</rdf:Bag></pdfaExtension:schemas>", _FX_SCHEMA + "</rdf:Bag></pdfaExtension:schemas>", 1
            )
        xmp = xmp.replace("</rdf:RDF>", _FX_DESCRIPTION + "</rdf:RDF>", 1)
        doc.Root.Metadata = doc.make_stream(xmp.encode("utf-8"), Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
        out = io.BytesIO()
        doc.save(out, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve)
        return out.getvalue()
