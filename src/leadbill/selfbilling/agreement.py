"""The self-billing agreement partners accept, one text per version.

The text is versioned in code: changing the wording means a new VERSION, and partners who
accepted an older one keep their record of exactly what they accepted (its SHA-256 is
stored with the acceptance). The entity and partner names are filled in, so the hash is
of the text as that partner saw it.
"""

from __future__ import annotations

import hashlib

VERSION = "2026-12"

# Version 2026-11 gave 14 days to object and no acceptance step; kept so that what a partner
# accepted then can be shown and its hash checked.
TEXT_2026_11 = """\
Self-billing agreement (version {version})

Between {entity} (the "customer") and {partner} (the "supplier").

1. The supplier agrees that the customer issues, in the supplier's name and on its behalf,
   the invoices for the leads the supplier provides and the commissions it earns
   ("self-invoices"), for as long as this agreement is in force.
2. Each self-invoice carries the mention "Self-billing", the supplier's details, tax rate,
   logo and footer as the supplier gave them in the portal, and a number of the supplier's
   own self-billing series.
3. The supplier checks every self-invoice made available to it in the portal and objects
   within 14 days to any self-invoice it does not accept; a corrected document is then issued.
4. The supplier keeps its details up to date and remains responsible for declaring and paying
   the tax shown on the self-invoices.
5. The supplier will not issue its own invoices for payouts that carry a self-invoice.
6. Either party may end this agreement at any time; self-invoices already issued remain valid.
"""

TEXT = """\
Self-billing agreement (version {version})

Between {entity} (the "customer") and {partner} (the "supplier").

1. The supplier agrees that the customer issues, in the supplier's name and on its behalf,
   the invoices for the leads the supplier provides and the commissions it earns
   ("self-invoices"), for as long as this agreement is in force.
2. Each self-invoice carries the mention "Self-billing", the supplier's details, tax rate,
   logo and footer as the supplier gave them in the portal, and a number of the supplier's
   own self-billing series.
3. Acceptance of each self-invoice: the supplier accepts or disputes every self-invoice in
   the portal (or through its API key), giving its reason for a dispute, within {days} days
   of the day it is made available. A self-invoice neither accepted nor disputed within
   {days} days is deemed accepted by the supplier.
4. A disputed self-invoice is cancelled by a self-billed credit note in the supplier's
   series, and the payout is reviewed again before a corrected self-invoice is issued.
5. The supplier keeps its details up to date and remains responsible for declaring and paying
   the tax shown on the self-invoices.
6. The supplier will not issue its own invoices for payouts that carry a self-invoice.
7. Either party may end this agreement at any time; self-invoices already issued remain valid.
"""

TEXTS = {"2026-11": TEXT_2026_11, VERSION: TEXT}


def agreement_text(*, entity: str, partner: str, days: int, version: str = VERSION) -> str:
    """The text as the partner reads it, names and the deemed-acceptance period filled in."""
    if version != VERSION:
        raise LookupError(f"no text for agreement version {version!r}; the current one is {VERSION}")
    return TEXT.format(version=version, entity=entity, partner=partner, days=days)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
