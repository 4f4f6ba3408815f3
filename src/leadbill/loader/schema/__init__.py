"""Reading a set-up file: YAML text to validated, frozen dataclasses. Nothing here writes.

`parse_document(text)` either returns a `SetupDocument` whose values are ready to store
(minor units, basis points, aware UTC datetimes, normalised price configs) or raises
`SetupFileError` listing every problem of the file, each at the path of its key:

    entities[0].partners[3].plans[1].tiers[2].price: a price cannot be negative

Plans may name a profile or lead type that is not in the file; a `Catalog` answers whether
the database already holds it (the default catalog knows nothing, so parsing stays pure).
The file format is documented in docs/setup-file.md.

One module per section of the file, beside the shared pieces:

- `problems`: Problem, SetupFileError;  `yamlfile`: the YAML loader;  `values`: one reader per kind of value;
- `specs`: the frozen dataclasses of the validated document;
- `document`: the top level (`version`, `entities`);  `entity`: an entity's details and lead types;
  `partner`: a partner with its profiles, caps and returns;  `plan`: one price plan.
"""

from leadbill.loader.schema.document import _Reader, parse_document, read_document
from leadbill.loader.schema.entity import ENTITY_DETAIL_KEYS, REMIT_TO_LINES, RETURN_REASONS_MAX, read_entity_details
from leadbill.loader.schema.problems import (
    BILLING_MODES,
    CREDIT_ON_ACCOUNT,
    FORMAT_VERSION,
    ROLES,
    SIDES,
    Problem,
    SetupFileError,
)
from leadbill.loader.schema.specs import (
    Address,
    Catalog,
    EmptyCatalog,
    EntitySpec,
    LeadTypeSpec,
    PartnerSpec,
    PlanSpec,
    ProfileSpec,
    SetupDocument,
)
from leadbill.loader.schema.values import CAP_POLICIES, _email, _slug, _text
from leadbill.loader.schema.yamlfile import SetupLoader, load_yaml

__all__ = [
    "BILLING_MODES",
    "CAP_POLICIES",
    "CREDIT_ON_ACCOUNT",
    "ENTITY_DETAIL_KEYS",
    "FORMAT_VERSION",
    "REMIT_TO_LINES",
    "RETURN_REASONS_MAX",
    "ROLES",
    "SIDES",
    "Address",
    "Catalog",
    "EmptyCatalog",
    "EntitySpec",
    "LeadTypeSpec",
    "PartnerSpec",
    "PlanSpec",
    "Problem",
    "ProfileSpec",
    "SetupDocument",
    "SetupFileError",
    "SetupLoader",
    "_Reader",
    "_email",
    "_slug",
    "_text",
    "load_yaml",
    "parse_document",
    "read_document",
    "read_entity_details",
]
