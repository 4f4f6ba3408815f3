"""Documents rendered per second on one core: PDF and Factur-X, for 1,000 demo invoices.

    python benchmarks/documents.py [--count 1000]

Builds the demo in a scratch folder (SQLite), takes its issued documents (invoices, receipts,
credit notes; each rendered in turn until --count renders), and times in the same process:
  raw       Typst compiling a fixed one-page PDF/A-3b (the engine's floor)
  pdf       Document → PDF/A-3b (Babel formatting, template, logo)
  facturx   Document → CII XML → PDF/A-3b with the XML attached → Factur-X XMP
  ubl       Document → UBL XML
and prints documents/s and the ratio to raw. Goal: >= 20 Factur-X invoices/s on one core.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="leadbill-bench-docs-")
    os.environ["LEADBILL_HOME"] = home
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadbill.config.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the goal says
    import django

    django.setup()
    from rich.console import Console

    from leadbill.demo.run import run_demo
    from leadbill.documents.build import document_of
    from leadbill.documents.cii import cii_xml
    from leadbill.documents.pdf import render_facturx, render_pdf, workspace
    from leadbill.documents.ubl import ubl_xml
    from leadbill.invoicing.models import Invoice

    run_demo(Console(file=open(os.devnull, "w")))  # noqa: SIM115
    docs = [document_of(i) for i in Invoice.objects.exclude(status="draft").prefetch_related("lines")]
    print(f"demo documents: {len(docs)} (rendered in turn, {args.count:,} renders each)")
    import json

    fixed = {"doc": json.dumps(_fixed_payload())}
    ws = workspace()

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        fn(0)  # warm-up: fonts, template
        t = time.perf_counter()
        for i in range(args.count):
            fn(i)
        return time.perf_counter() - t

    raw = timed(lambda i: ws.compile("invoice", fixed, when=_when()))
    pdf = timed(lambda i: render_pdf(docs[i % len(docs)]))
    facturx = timed(lambda i: render_facturx(docs[i % len(docs)], cii_xml(docs[i % len(docs)])))
    ubl = timed(lambda i: ubl_xml(docs[i % len(docs)]))
    for name, seconds in (("raw typst", raw), ("pdf", pdf), ("facturx", facturx), ("ubl", ubl)):
        print(f"{name:10}: {args.count / seconds:8.1f} docs/s  {seconds / args.count * 1000:6.2f} ms each  "
              f"ratio to raw {seconds / raw:5.2f}x")  # fmt: skip
    rate = args.count / facturx
    print(f"Factur-X on one core: {rate:.0f}/s (goal >= 20/s: {'met' if rate >= 20 else 'NOT met'})")
    return 0


def _when():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)


def _fixed_payload() -> dict[str, object]:
    return {
        "title": "Invoice", "number": "X-1", "lang": "en", "region": "US", "paper": "a4", "accent": "#1f4e79",
        "logo": None, "issuer": {"name": "Seller", "lines": ["1 Street"]}, "recipient_label": "Bill to",
        "recipient": {"name": "Buyer", "lines": ["2 Road"]}, "show_tax": True, "meta": [["Number", "X-1", True]],
        "self_billing_notice": "", "counts": [], "columns": ["#", "Description", "Leads", "Price", "Tax", "Amount"],
        "lines": [{"position": "1", "description": "Leads", "detail": "", "quantity": "10", "price": "$2.00",
                   "tax": "0%", "amount": "$20.00"}],
        "totals": [["Total", "$20.00", True]], "balance_label": "", "balance": [], "tax_notes": [], "notes": [],
        "payment_label": "", "payment": [], "footer": "Seller", "page_label": "Page {page} of {pages}",
    }  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
