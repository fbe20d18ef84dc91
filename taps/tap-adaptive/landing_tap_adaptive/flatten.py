"""XML elements → records: one record per node, trees kept as ``parent_id``/``depth``/``path``.

Metadata exports answer with element trees (accounts nine levels deep, dimensions with nested values,
adaptive.md §4). Each export declares an :class:`ElementShape`; :func:`flatten` turns its ``<output>``
into flat records with the same keys every time. What real instances send beyond the schema is kept:
unknown attributes and child elements land in ``extra_fields`` as sent, a value that does not fit its
type lands there too (column null), each warned once per stream and run by :class:`Variance`.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass, field

from singer_sdk import typing as th

from landing_tap_adaptive.converters import Converter, converter_for, to_bool_or_text, type_name
from landing_tap_adaptive.schemas import EXTRA_FIELDS
from landing_tap_adaptive.xmlapi import snake

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from lxml import etree


@dataclass(frozen=True)
class ElementShape:
    """How one export's elements become rows, and the columns that follow from it."""

    #: Element tag → node type (None when the export has one kind of node).
    node_tags: Mapping[str, str | None]
    #: The elements' attributes (column = attribute in snake_case, type = converter).
    attributes: th.PropertiesList
    #: Nested elements of the node tags form a tree: add parent_id, depth and path.
    hierarchy: bool = False
    #: ``<attributes><attribute .../></attributes>`` children become a JSON array column.
    has_attributes: bool = False
    #: Column holding the id of the tree's root node (e.g. the dimension of a dimension value).
    root_key: str | None = None
    #: Child elements kept as JSON: tag → "object" (its attributes, flags as booleans) or "elements".
    child_fields: Mapping[str, str] = field(default_factory=dict)

    def schema(self, added: th.PropertiesList | None = None) -> dict[str, t.Any]:
        """The stream's JSON schema: attributes, structural columns, ``added`` ones, then ``extra_fields``."""
        columns = th.PropertiesList(*self.attributes.wrapped.values())
        if set(self.node_tags.values()) - {None}:
            columns.append(th.Property("node_type", th.StringType, required=True))
        # parent and root ids share the id column's type, so the warehouse can join them.
        id_type: type[th.JSONTypeHelper[t.Any]] = (
            th.IntegerType if "integer" in str(self.attributes.to_dict()["properties"].get("id")) else th.StringType
        )
        if self.hierarchy:
            columns.append(th.Property("parent_id", id_type))
            columns.append(th.Property("depth", th.IntegerType, required=True))
            columns.append(th.Property("path", th.ArrayType(th.StringType), required=True))
        if self.root_key:
            columns.append(th.Property(self.root_key, id_type))
        if self.has_attributes:
            columns.append(th.Property("attributes", th.ArrayType(th.ObjectType(additional_properties=True))))
        for tag, kind in self.child_fields.items():
            column_type = (
                th.ObjectType(additional_properties=True)
                if kind == "object"
                else th.ArrayType(th.ObjectType(additional_properties=True))
            )
            columns.append(th.Property(snake(tag), column_type))
        for added_column in added.wrapped.values() if added else ():
            columns.append(added_column)
        columns.append(EXTRA_FIELDS)
        return columns.to_dict()


class Variance:
    """Warnings about what an instance sent beyond the schema: once per new name (or field) per run."""

    def __init__(self, stream_name: str, logger: logging.Logger) -> None:
        """Start a run with nothing warned about yet."""
        self.stream_name = stream_name
        self.logger = logger
        self.warned_extra: set[str] = set()
        self.warned_drift: set[str] = set()

    def extra_fields(self, names: Iterable[str]) -> None:
        """``stream <name>: fields not in the schema kept in extra_fields: a, b``."""
        new = set(names) - self.warned_extra
        if new:
            self.warned_extra |= new
            self.logger.warning(
                "stream %s: fields not in the schema kept in extra_fields: %s", self.stream_name, ", ".join(sorted(new))
            )

    def drift(self, column: str, declared: str) -> None:
        """``stream <name>: field <f> sent as string, schema says <type>; kept in extra_fields``."""
        if column not in self.warned_drift:
            self.warned_drift.add(column)
            self.logger.warning(
                "stream %s: field %s sent as string, schema says %s; kept in extra_fields",
                self.stream_name,
                column,
                declared,
            )


def element_object(el: etree._Element) -> dict[str, t.Any]:
    """Keep a child element whole (sheet columns, transaction fields): its tag, attributes, children."""
    obj: dict[str, t.Any] = {"type": el.tag, **{snake(k): v for k, v in el.attrib.items()}}
    children = [element_object(c) for c in el if isinstance(c.tag, str)]
    if children:
        obj["items"] = children
    return obj


class _Column(t.NamedTuple):
    name: str
    convert: Converter | None
    declared: str


def _attribute_columns(shape: ElementShape) -> dict[str, _Column]:
    properties = shape.attributes.to_dict()["properties"]
    return {name: _Column(name, converter_for(schema), type_name(schema)) for name, schema in properties.items()}


def flatten(output: etree._Element, shape: ElementShape, variance: Variance) -> Iterator[dict[str, t.Any]]:  # noqa: PLR0912, PLR0915
    """One record per node, pre-order; containers under ``<output>`` are descended into without a record.

    Iterative (explicit stack) rather than recursive generators: a 50k-node account tree nine levels
    deep would otherwise pass every record through a chain of nested generators.
    """
    columns = _attribute_columns(shape)
    # Attribute name → its column, or None for an attribute the schema lacks (snake_case computed once).
    by_attribute: dict[str, _Column | None] = {}
    tags = shape.node_tags
    hierarchy, root_key, with_attributes = shape.hierarchy, shape.root_key, shape.has_attributes
    child_fields = shape.child_fields
    child_columns = [snake(tag) for tag in child_fields]
    blank = dict.fromkeys(columns)
    top: list[etree._Element] = []
    containers = [output]
    while containers:
        for el in containers.pop(0):
            if isinstance(el.tag, str):
                (top if el.tag in tags else containers).append(el)
    # (element, parent id, depth, parent path, root id)
    stack: list[tuple[etree._Element, t.Any, int, list[str], t.Any]] = [(el, None, 0, [], None) for el in reversed(top)]
    while stack:
        el, parent_id, depth, path, root_id = stack.pop()
        record = dict(blank)
        extra: dict[str, t.Any] | None = None
        unknown: list[str] = []
        for attr, raw in el.attrib.items():
            if attr in by_attribute:
                column = by_attribute[attr]
            else:
                column = by_attribute[attr] = columns.get(snake(attr))
            if column is None:
                extra = extra or {}
                extra[attr] = raw
                unknown.append(attr)
            elif column.convert is None:
                record[column.name] = raw
            else:
                try:
                    record[column.name] = column.convert(raw)
                except ValueError:
                    extra = extra or {}
                    extra[column.name] = raw
                    variance.drift(column.name, column.declared)
        if unknown:
            variance.extra_fields(unknown)
        node_type = tags[el.tag]
        if node_type is not None:
            record["node_type"] = node_type
        node_id = record.get("id", record.get("code"))
        own_path = [*path, el.get("name") or el.get("label") or el.get("code") or ""]
        if hierarchy:
            record["parent_id"] = parent_id
            record["depth"] = depth
            record["path"] = own_path
        own_root = root_id if depth else node_id
        if root_key:
            record[root_key] = own_root
        children: list[etree._Element] = []
        attributes: list[dict[str, t.Any]] = []
        for column_name in child_columns:
            record[column_name] = None  # the same keys on every record, present or not
        for child in el:
            tag = child.tag
            if tag in tags:
                children.append(child)
            elif tag == "attributes":
                attributes.extend({snake(k): v for k, v in a.attrib.items()} for a in child)
            elif tag in child_fields:
                if child_fields[tag] == "object":
                    record[snake(tag)] = {snake(k): to_bool_or_text(v) for k, v in child.attrib.items()}
                else:
                    record[snake(tag)] = [element_object(c) for c in child if isinstance(c.tag, str)]
            elif isinstance(tag, str):
                extra = extra or {}
                extra.setdefault(tag, []).append(element_object(child))
                variance.extra_fields([tag])
        if with_attributes:
            record["attributes"] = attributes
        record["extra_fields"] = extra
        stack.extend((child, node_id, depth + 1, own_path, own_root) for child in reversed(children))
        yield record


def first_of_each_key(
    records: Iterable[dict[str, t.Any]], keys: tuple[str, ...], warn: t.Callable[[str], None]
) -> Iterator[dict[str, t.Any]]:
    """Drop a record whose key an earlier record of the same response already had (warned once).

    A loader upserts by key, so a second element with one key (a dimension value listed twice within
    its dimension) would silently replace the first; the first one listed is kept.
    """
    seen: set[tuple[t.Any, ...]] = set()
    repeated: dict[tuple[t.Any, ...], int] = {}
    for record in records:
        if not keys or keys[0] not in record:  # key made later (post_process), e.g. event_id
            yield record
            continue
        key = tuple(record.get(k) for k in keys)
        if key in seen:
            repeated[key] = repeated.get(key, 1) + 1
            continue
        seen.add(key)
        yield record
    if repeated:
        shown = "; ".join(f"{dict(zip(keys, key, strict=True))} x{count}" for key, count in list(repeated.items())[:5])
        warn(f"{len(repeated)} key(s) listed more than once in one response, first occurrence kept: {shown}")
