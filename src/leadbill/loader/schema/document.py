"""The whole file: version, entities, and each entity's sections read in file order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from leadbill.documents.logos import Logo, logo_read
from leadbill.loader.schema.entity import read_entity
from leadbill.loader.schema.partner import read_partner
from leadbill.loader.schema.plan import read_plan
from leadbill.loader.schema.problems import FORMAT_VERSION, Problem, SetupFileError
from leadbill.loader.schema.specs import (
    Catalog,
    EmptyCatalog,
    EntitySpec,
    PartnerSpec,
    PlanSpec,
    SetupDocument,
)
from leadbill.loader.schema.values import (
    _Fields,
    _text,
    _unique,
    _version,
)
from leadbill.loader.schema.yamlfile import load_yaml


class _Reader:
    def __init__(self, catalog: Catalog, base_dir: Path | None = None) -> None:
        self.catalog = catalog
        self.base_dir = base_dir
        self.problems: list[Problem] = []

    def _logo(self, value: Any) -> Logo:
        name = _text(500)(value)
        path = Path(name)
        if not path.is_absolute():
            path = (self.base_dir or Path.cwd()) / path
        return logo_read(path)

    def document(self, raw: Any) -> SetupDocument:
        if raw is None:
            self.problems.append(Problem("", "the file is empty"))
            return SetupDocument(())
        top = _Fields(self.problems, "", raw)
        top.read("version", _version, FORMAT_VERSION)
        items = top.items("entities")
        if top.ok and not top.has("entities"):
            top.problem("entities", "required")
        top.close()
        entities: list[EntitySpec] = []
        seen: dict[Any, str] = {}
        for path, item in items:
            entity = self.entity(path, item)
            if entity is not None:
                _unique(self.problems, seen, entity.slug, f"{path}.slug", f"entity {entity.slug!r}")
                entities.append(entity)
        return SetupDocument(tuple(entities))

    def entity(self, path: str, raw: Any) -> EntitySpec | None:
        return read_entity(self, path, raw)

    def partner(
        self,
        path: str,
        raw: Any,
        *,
        entity: str | None,
        currency: str | None,
        tz: ZoneInfo | None,
        lead_types: set[str],
    ) -> PartnerSpec | None:
        return read_partner(self, path, raw, entity=entity, currency=currency, tz=tz, lead_types=lead_types)

    def plan(
        self,
        path: str,
        raw: Any,
        *,
        tz: ZoneInfo | None,
        is_buyer: bool,
        is_supplier: bool,
        has_profile: Callable[[str], bool],
        has_lead_type: Callable[[str], bool],
    ) -> PlanSpec | None:
        return read_plan(self, path, raw, tz=tz, is_buyer=is_buyer, is_supplier=is_supplier,
                         has_profile=has_profile, has_lead_type=has_lead_type)  # fmt: skip


def read_document(data: Any, *, catalog: Catalog | None = None, base_dir: Path | None = None) -> SetupDocument:
    """Validate loaded YAML data; raises SetupFileError with every problem found.

    Files the document names (an entity's logo) are read relative to `base_dir`.
    """
    reader = _Reader(catalog or EmptyCatalog(), base_dir)
    document = reader.document(data)
    if reader.problems:
        raise SetupFileError(reader.problems)
    return document


def parse_document(text: str, *, catalog: Catalog | None = None, base_dir: Path | None = None) -> SetupDocument:
    """Parse and validate the text of a set-up file; raises SetupFileError."""
    return read_document(load_yaml(text), catalog=catalog, base_dir=base_dir)
