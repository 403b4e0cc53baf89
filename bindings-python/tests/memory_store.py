"""A store written in Python, kept in dicts: employees, customers and issues.

It is what a host writes to keep its own tables (see ``docs/python.md``): persistence only,
always inside the scope it is given; the agent validates inputs and applies the business rules.
``AsyncMemoryStore`` is the same store with ``async def`` methods.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from datetime import datetime, timezone
from typing import Any

import crm_agent

Record = dict[str, Any]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON (and PostgreSQL's jsonb) sees it: ``true`` is not ``1``, ``12 == 12.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _matches_search(record: Record, fields: tuple[str, ...], search: str | None) -> bool:
    if not search:
        return True
    needle = search.lower()
    return any(needle in str(record.get(field) or "").lower() for field in fields)


def _matches_custom(record: Record, wanted: dict[str, Any]) -> bool:
    fields = record.get("custom_fields") or {}
    return all(key in fields and _json_equal(fields[key], value) for key, value in wanted.items())


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _instant(text: str) -> datetime:
    """An RFC 3339 time as an aware datetime (digits past the microsecond dropped)."""
    return datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00"))


def _in_span(value: str | None, span: dict[str, Any] | None) -> bool:
    """Whether ``value`` (a time) is in ``span``: ``after`` included, ``before`` not. A span
    without ends filters nothing; with one, a record without the time is left out."""
    after, before = (span or {}).get("after"), (span or {}).get("before")
    if after is None and before is None:
        return True
    if value is None:
        return False
    at = _instant(value)
    return (after is None or at >= _instant(after)) and (before is None or at < _instant(before))


def _in_spans(record: Record, filter: dict[str, Any], spans: dict[str, str]) -> bool:
    """Whether ``record`` is in every span of ``filter``; ``spans`` maps filter keys to fields."""
    return all(_in_span(record.get(field), filter.get(key)) for key, field in spans.items())


# The fields each list sorts by that hold times (compared as instants, not as text).
_TIMES = frozenset({"created_at", "updated_at", "resolved_at"})


def _sorted(records: list[Record], sort: dict[str, Any] | None, fields: tuple[str, ...]) -> tuple[list[Record], str]:
    """``records`` in the order ``sort`` asks (``None``: newest first), and the order's name for
    cursors. Records without the field come last either way; ties and those records go by
    creation, in the same direction."""
    field, descending = ("created_at", True) if sort is None else (sort["field"], bool(sort.get("descending")))
    if field not in fields:
        raise crm_agent.InvalidArgument(f"cannot sort by {field!r}")

    def value(r: Record) -> Any:
        return _instant(r[field]) if field in _TIMES else r[field]

    def created(r: Record) -> tuple[datetime, int]:
        return _instant(r["created_at"]), r["_seq"]

    present = sorted(
        (r for r in records if r.get(field) is not None), key=lambda r: (value(r), created(r)), reverse=descending
    )
    missing = sorted((r for r in records if r.get(field) is None), key=created, reverse=descending)
    return present + missing, f"{field}:{'desc' if descending else 'asc'}"


def _page(items: list[Record], order: str = "o", *, page: dict[str, Any]) -> dict[str, Any]:
    """One page of ``items`` (already in ``order``); the cursor is the order and the offset of
    the next item, so a cursor of another order is refused."""
    offset = 0
    if page.get("cursor"):
        cursor = page["cursor"]
        made_for, _, at = cursor.rpartition(":")
        if not at.isdigit():
            raise crm_agent.InvalidArgument(f"invalid cursor: {cursor!r}")
        if made_for != order:
            raise crm_agent.InvalidArgument(f"the cursor {cursor!r} belongs to another order")
        offset = int(at)
    limit = page["limit"]
    chunk = items[offset : offset + limit]
    more = offset + limit < len(items)
    next_cursor = f"{order}:{offset + limit}" if more else None
    return {"items": [_public(r) for r in copy.deepcopy(chunk)], "total": len(items), "next_cursor": next_cursor}


def _public(record: Record | None) -> Record | None:
    return None if record is None else {k: v for k, v in record.items() if not k.startswith("_")}


class MemoryStore(crm_agent.Store):
    """Employees, customers and issues in memory, safe for concurrent calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._employees: dict[str, Record] = {}
        self._customers: dict[str, Record] = {}
        self._issues: dict[str, Record] = {}
        self._comments: list[Record] = []
        self._numbers: dict[tuple[str, int], int] = {}
        self._seq = 0
        self.calls: list[str] = []

    # --- helpers ------------------------------------------------------------------------------

    def _stamp(self, record: Record, created_at: str | None) -> Record:
        self._seq += 1
        now = _now()
        record["created_at"] = created_at or now
        record["updated_at"] = created_at or now
        record["_seq"] = self._seq
        return record

    @staticmethod
    def _staff_only(scope: dict[str, Any]) -> None:
        if scope["customer_id"] is not None:
            raise crm_agent.PermissionDenied("customers cannot change this record")

    def _employee(self, scope: dict[str, Any], employee_id: str | None) -> Record | None:
        if employee_id is None:
            return None
        found = self._employees.get(employee_id)
        if found is None or found["organization_id"] != scope["organization_id"] or scope["customer_id"]:
            raise crm_agent.NotFound(f"employee not found: {employee_id}")
        return found

    def _customer(self, scope: dict[str, Any], customer_id: str) -> Record:
        found = self._customers.get(customer_id)
        if (
            found is None
            or found["organization_id"] != scope["organization_id"]
            or (scope["customer_id"] is not None and scope["customer_id"] != customer_id)
        ):
            raise crm_agent.NotFound(f"customer not found: {customer_id}")
        return found

    def _issue(self, scope: dict[str, Any], issue_id: str) -> Record:
        found = self._issues.get(issue_id)
        if (
            found is None
            or found["organization_id"] != scope["organization_id"]
            or (scope["customer_id"] is not None and found["customer_id"] != scope["customer_id"])
        ):
            raise crm_agent.NotFound(f"issue not found: {issue_id}")
        return found

    # --- employees ----------------------------------------------------------------------------

    def list_employees(self, scope: dict, filter: dict, page: dict) -> dict:
        with self._lock:
            self.calls.append("list_employees")
            if scope["customer_id"]:
                return _page([], page=page)
            rows = [
                e
                for e in self._employees.values()
                if e["organization_id"] == scope["organization_id"]
                and (filter.get("status") is None or e["status"] == filter["status"])
                and (filter.get("department") is None or e["department"] == filter["department"])
                and _matches_search(e, ("first_name", "last_name", "email", "job_title"), filter.get("search"))
                and _in_spans(e, filter, {"created": "created_at", "updated": "updated_at"})
            ]
            return _page(*_sorted(rows, filter.get("sort"), ("created_at", "last_name", "hire_date")), page=page)

    def get_employee(self, scope: dict, id: str) -> dict:
        with self._lock:
            return _public(copy.deepcopy(self._employee(scope, id)))

    def create_employee(self, scope: dict, new: dict) -> dict:
        with self._lock:
            self._staff_only(scope)
            self._employee(scope, new.get("manager_id"))
            record = {"id": f"emp_{uuid.uuid4().hex}", "organization_id": scope["organization_id"], "role_ids": []}
            record.update({k: v for k, v in new.items() if k != "created_at"})
            self._employees[record["id"]] = self._stamp(record, new.get("created_at"))
            return _public(copy.deepcopy(record))

    def update_employee(self, scope: dict, id: str, patch: dict) -> dict:
        with self._lock:
            self._staff_only(scope)
            record = self._employee(scope, id)
            self._employee(scope, patch.get("manager_id"))
            record.update(patch)
            record["updated_at"] = _now()
            return _public(copy.deepcopy(record))

    # --- customers ----------------------------------------------------------------------------

    def list_customers(self, scope: dict, filter: dict, page: dict) -> dict:
        with self._lock:
            self.calls.append("list_customers")
            rows = [
                c
                for c in self._customers.values()
                if c["organization_id"] == scope["organization_id"]
                and (scope["customer_id"] is None or c["id"] == scope["customer_id"])
                and all(filter.get(k) is None or c[k] == filter[k] for k in ("status", "customer_type", "assigned_to"))
                and _matches_search(c, ("name", "company_name", "email", "phone"), filter.get("search"))
                and _matches_custom(c, filter.get("custom_fields") or {})
                and _in_spans(c, filter, {"created": "created_at", "updated": "updated_at"})
            ]
            return _page(*_sorted(rows, filter.get("sort"), ("created_at", "updated_at", "name")), page=page)

    def get_customer(self, scope: dict, id: str) -> dict:
        with self._lock:
            self.calls.append("get_customer")
            return _public(copy.deepcopy(self._customer(scope, id)))

    def create_customer(self, scope: dict, new: dict) -> dict:
        with self._lock:
            self._staff_only(scope)
            self._employee(scope, new.get("assigned_to"))
            record = {"id": f"cus_{uuid.uuid4().hex}", "organization_id": scope["organization_id"]}
            record.update({k: v for k, v in new.items() if k != "created_at"})
            self._customers[record["id"]] = self._stamp(record, new.get("created_at"))
            return _public(copy.deepcopy(record))

    def update_customer(self, scope: dict, id: str, patch: dict) -> dict:
        with self._lock:
            self._staff_only(scope)
            record = self._customer(scope, id)
            self._employee(scope, patch.get("assigned_to"))
            record.update(patch)
            record["updated_at"] = _now()
            return _public(copy.deepcopy(record))

    # --- issues -------------------------------------------------------------------------------

    def list_issues(self, scope: dict, filter: dict, page: dict) -> dict:
        with self._lock:
            keys = ("status", "priority", "category", "assigned_to", "customer_id", "order_id")
            rows = [
                i
                for i in self._issues.values()
                if i["organization_id"] == scope["organization_id"]
                and (scope["customer_id"] is None or i["customer_id"] == scope["customer_id"])
                and all(filter.get(k) is None or i[k] == filter[k] for k in keys)
                and _matches_search(i, ("number", "title", "description"), filter.get("search"))
                and _matches_custom(i, filter.get("custom_fields") or {})
                and _in_spans(i, filter, {"created": "created_at", "updated": "updated_at", "resolved": "resolved_at"})
            ]
            return _page(*_sorted(rows, filter.get("sort"), ("created_at", "updated_at", "resolved_at")), page=page)

    def get_issue(self, scope: dict, id: str) -> dict:
        with self._lock:
            return _public(copy.deepcopy(self._issue(scope, id)))

    def create_issue(self, scope: dict, new: dict) -> dict:
        with self._lock:
            if new.get("customer_id") is not None:
                self._customer(scope, new["customer_id"])
            elif scope["customer_id"] is not None:
                raise crm_agent.NotFound("customer not found: (none)")
            if new.get("order_id") is not None:
                raise crm_agent.NotFound(f"order not found: {new['order_id']}")
            self._employee(scope, new.get("assigned_to"))
            created = new.get("created_at") or _now()
            year = int(created[:4])
            key = (scope["organization_id"], year)
            self._numbers[key] = self._numbers.get(key, 0) + 1
            record = {
                "id": f"iss_{uuid.uuid4().hex}",
                "organization_id": scope["organization_id"],
                "number": f"ISS-{year}-{self._numbers[key]:04}",
                "resolution_notes": None,
                "resolved_at": None,
                "resolved_by": None,
            }
            record.update({k: v for k, v in new.items() if k != "created_at"})
            self._issues[record["id"]] = self._stamp(record, created)
            return _public(copy.deepcopy(record))

    def update_issue(self, scope: dict, id: str, patch: dict) -> dict:
        with self._lock:
            self._staff_only(scope)
            record = self._issue(scope, id)
            if patch.get("customer_id") is not None:
                self._customer(scope, patch["customer_id"])
            self._employee(scope, patch.get("assigned_to"))
            record.update(patch)
            record["updated_at"] = _now()
            return _public(copy.deepcopy(record))

    def add_issue_comment(self, scope: dict, new: dict) -> dict:
        with self._lock:
            self._issue(scope, new["issue_id"])
            if scope["customer_id"] is not None and new["internal"]:
                raise crm_agent.PermissionDenied("customers cannot write internal comments")
            record = {"id": f"cmt_{uuid.uuid4().hex}", "organization_id": scope["organization_id"], **new}
            self._comments.append(self._stamp(record, None))
            return _public(copy.deepcopy(record))

    def list_issue_comments(self, scope: dict, issue: str, include_internal: bool, page: dict) -> dict:
        with self._lock:
            self._issue(scope, issue)
            show_internal = include_internal and scope["customer_id"] is None
            rows = [c for c in self._comments if c["issue_id"] == issue and (show_internal or not c["internal"])]
            return _page(rows, page=page)


class AsyncMemoryStore(MemoryStore):
    """The same store with ``async def`` methods (run on the package's store event loop)."""


def _make_async(name: str) -> None:
    sync = getattr(MemoryStore, name)

    async def method(self: MemoryStore, **kwargs: Any) -> Any:
        return sync(self, **kwargs)

    method.__name__ = name
    setattr(AsyncMemoryStore, name, method)


for _name in [n for n in vars(MemoryStore) if not n.startswith("_")]:
    _make_async(_name)
