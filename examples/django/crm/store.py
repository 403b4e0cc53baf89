"""``DjangoStore``: the crm-agent ``Store`` over the site's own tables (``crm.models``).

The assistant calls these methods with plain data (see ``crm_agent.store``): ``scope`` says
which organization, and for a customer login which customer, the call acts for; ``new`` and
``patch`` arrive already validated by the core. The store only persists, and answers records
shaped like the tools' JSON. It keeps employees, customers, issues and issue comments; the
organizations, conversations and pending actions stay in the agent's own database.

The rules every method keeps, whatever the caller asked for:

- a row of another organization does not exist (``crm_agent.NotFound``), and neither does,
  for a customer scope, another customer's record or issue;
- a customer scope never sees employees or internal comments, and may only raise issues and
  comment on its own issues;
- references (assignee, manager, customer, login) must point at rows the scope can see.

The methods are plain ``def`` and use the ORM: the agent runs them on its worker threads,
never on an event loop.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict, TypeVar

import crm_agent
from django.contrib.auth import get_user_model
from django.db import IntegrityError, close_old_connections, models, transaction
from django.db.models import F, OrderBy, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from crm.models import Customer, Employee, Issue, IssueComment, IssueCounter

Record = dict[str, Any]
M = TypeVar("M", bound=models.Model)
R = TypeVar("R")


class Scope(TypedDict):
    organization_id: str
    customer_id: str | None


class PageRequest(TypedDict, total=False):
    limit: int
    cursor: str | None


def _orm(method: Callable[..., R]) -> Callable[..., R]:
    """Wraps a store method: connection upkeep and unique-constraint errors.

    These calls arrive on the agent's threads, outside Django's request cycle, so nothing else
    closes their connections: like Django around a request, stale or broken connections are
    dropped before and after (``CONN_MAX_AGE`` decides how long one lives). A unique
    constraint that fails (a login linked to two customers) is a conflict to the core.
    """

    @functools.wraps(method)
    def call(self: DjangoStore, **kwargs: Any) -> R:
        close_old_connections()
        try:
            return method(self, **kwargs)
        except IntegrityError as error:
            raise crm_agent.Conflict(str(error)) from error
        finally:
            close_old_connections()

    return call


# --- records ----------------------------------------------------------------------------------


def _login_id(login_id: int | None) -> str | None:
    return None if login_id is None else str(login_id)


def employee_record(e: Employee) -> Record:
    return {
        "id": e.id,
        "organization_id": e.organization_id,
        "user_id": _login_id(e.login_id),
        "first_name": e.first_name,
        "last_name": e.last_name,
        "email": e.email,
        "phone": e.phone,
        "job_title": e.job_title,
        "department": e.department,
        "employment_type": e.employment_type,
        "status": e.status,
        "manager_id": e.manager_id,
        "role_ids": e.role_ids,
        "hire_date": e.hire_date,
        "salary": e.salary,
        "commission_rate": e.commission_rate,
        "emergency_contact": e.emergency_contact,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    }


def customer_record(c: Customer) -> Record:
    return {
        "id": c.id,
        "organization_id": c.organization_id,
        "name": c.name,
        "customer_type": c.customer_type,
        "company_name": c.company_name,
        "email": c.email,
        "phone": c.phone,
        "address": c.address,
        "city": c.city,
        "state": c.state,
        "postal_code": c.postal_code,
        "country": c.country,
        "industry": c.industry,
        "website": c.website,
        "status": c.status,
        "assigned_to": c.assigned_to_id,
        "credit_limit": c.credit_limit,
        "source": c.source,
        "tags": c.tags,
        "notes": c.notes,
        "converted_from_lead": c.converted_from_lead,
        "user_id": _login_id(c.login_id),
        "custom_fields": c.custom_fields,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def issue_record(i: Issue) -> Record:
    return {
        "id": i.id,
        "organization_id": i.organization_id,
        "number": i.number,
        "title": i.title,
        "description": i.description,
        "priority": i.priority,
        "category": i.category,
        "status": i.status,
        "customer_id": i.customer_id,
        "order_id": None,  # this site keeps no orders
        "assigned_to": i.assigned_to_id,
        "resolution_notes": i.resolution_notes,
        "resolved_at": i.resolved_at,
        "resolved_by": i.resolved_by,
        "custom_fields": i.custom_fields,
        "created_at": i.created_at,
        "updated_at": i.updated_at,
    }


def comment_record(c: IssueComment) -> Record:
    return {
        "id": c.id,
        "organization_id": c.organization_id,
        "issue_id": c.issue_id,
        "author_user_id": c.author_user_id,
        "author_name": c.author_name,
        "body": c.body,
        "internal": c.internal,
        "created_at": c.created_at,
    }


# --- queries ----------------------------------------------------------------------------------


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it (and PostgreSQL's jsonb, the core's reference): ``true`` is not
    ``1``, ``12`` is ``12.0``, ``"12"`` is neither."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _equal(rows: QuerySet[M], filter: dict[str, Any], fields: dict[str, str]) -> QuerySet[M]:
    """Rows whose column equals each given filter value; ``fields`` maps filter keys to columns."""
    wanted = {column: filter[key] for key, column in fields.items() if filter.get(key) is not None}
    return rows.filter(**wanted)


def _search(rows: QuerySet[M], text: str | None, fields: Iterable[str]) -> QuerySet[M]:
    """Rows with ``text`` in any of ``fields``, ignoring case. ``icontains`` escapes ``%`` and
    ``_``, so they match only themselves."""
    if not text:
        return rows
    match = Q()
    for field in fields:
        match |= Q(**{f"{field}__icontains": text})
    return rows.filter(match)


def _custom_fields(rows: QuerySet[M], wanted: dict[str, Any] | None) -> QuerySet[M]:
    """Rows whose custom fields hold every wanted value. SQL JSON lookups differ between
    databases in how they compare types (SQLite's finds ``true`` equal to ``1``), so the
    database narrows to rows having the keys and Python compares the values."""
    if not wanted:
        return rows
    ids = [
        pk
        for pk, fields in rows.filter(custom_fields__has_keys=list(wanted)).values_list("pk", "custom_fields")
        if all(key in fields and _json_equal(fields[key], value) for key, value in wanted.items())
    ]
    return rows.filter(pk__in=ids)


# The order of a list: a field and whether largest (latest) first.
Order = tuple[str, bool]

NEWEST_FIRST: Order = ("created_at", True)

# The fields each list sorts by, as the core names them (they are the models' field names too).
_EMPLOYEE_SORTS = ("created_at", "last_name", "hire_date")
_CUSTOMER_SORTS = ("created_at", "updated_at", "name")
_ISSUE_SORTS = ("created_at", "updated_at", "resolved_at")


def _order(sort: Record | None, fields: tuple[str, ...]) -> Order:
    """The order a list's ``sort`` asks for (``None``: newest first)."""
    if sort is None:
        return NEWEST_FIRST
    if sort["field"] not in fields:
        raise crm_agent.InvalidArgument(f"cannot sort by {sort['field']!r}")
    return sort["field"], bool(sort.get("descending"))


def _spans(rows: QuerySet[M], filter: Record, spans: dict[str, str]) -> QuerySet[M]:
    """Rows in each time span of ``filter`` (``{"after", "before"}``: ``after`` included,
    ``before`` not); ``spans`` maps filter keys to columns. A row without the time is outside
    any span with an end (SQL's comparisons with NULL are never true)."""
    for key, column in spans.items():
        span = filter.get(key) or {}
        if span.get("after") is not None:
            rows = rows.filter(**{f"{column}__gte": _timestamp(span["after"])})
        if span.get("before") is not None:
            rows = rows.filter(**{f"{column}__lt": _timestamp(span["before"])})
    return rows


def _order_name(order: Order) -> str:
    return f"{order[0]}:{'desc' if order[1] else 'asc'}"


def _encode_cursor(row: models.Model, order: Order) -> str:
    value = getattr(row, order[0])
    created_at: datetime = row.created_at
    position = [
        _order_name(order),
        None if value is None else value.isoformat() if isinstance(value, (date, datetime)) else str(value),
        created_at.isoformat(),
        row.pk,
    ]
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _decode_cursor(cursor: str, rows: QuerySet[M], order: Order) -> tuple[Any, datetime, str]:
    """The (value, created_at, id) of the row a cursor of ``order`` points at."""
    try:
        name, value, created, pk = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        at = parse_datetime(created)
    except (binascii.Error, UnicodeError, ValueError, TypeError):
        at = None
    if at is None:
        raise crm_agent.InvalidArgument(f"invalid cursor: {cursor!r}")
    if name != _order_name(order):
        raise crm_agent.InvalidArgument(f"the cursor {cursor!r} belongs to another order than {_order_name(order)}")
    field = rows.model._meta.get_field(order[0])
    if value is not None and isinstance(field, models.DateTimeField):
        value = _timestamp(value)
    elif value is not None and isinstance(field, models.DateField):
        value = _date(value)
    return value, at, pk


def _page(rows: QuerySet[M], page: PageRequest, record: Callable[[M], Record], order: Order = NEWEST_FIRST) -> Record:
    """One page of ``rows`` in ``order``, with the total of all pages. Rows without the order's
    field come last either way; ties and those rows go by creation (created_at, id), in the
    same direction.

    The cursor is the position of the page's last row (its value, created_at and id) and names
    the order, not an offset: rows added while someone pages through do not shift the later
    pages, and a cursor of another order is refused.
    """
    total = rows.count()
    field, descending = order

    def direction(column: str) -> OrderBy:
        return F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)

    rows = rows.order_by(direction(field), direction("created_at"), direction("id"))
    if page.get("cursor"):
        value, at, pk = _decode_cursor(page["cursor"] or "", rows, order)
        beyond = "lt" if descending else "gt"
        later = Q(**{f"created_at__{beyond}": at}) | Q(created_at=at, **{f"id__{beyond}": pk})
        missing = Q(**{f"{field}__isnull": True})
        if value is None:
            rows = rows.filter(missing & later)
        else:
            rows = rows.filter(Q(**{f"{field}__{beyond}": value}) | (Q(**{field: value}) & later) | missing)
    limit = page["limit"]
    chunk = list(rows[: limit + 1])
    more = len(chunk) > limit
    chunk = chunk[:limit]
    return {
        "items": [record(row) for row in chunk],
        "total": total,
        "next_cursor": _encode_cursor(chunk[-1], order) if more else None,
    }


def _timestamp(value: str | datetime | None) -> datetime:
    """A creation time from the core (importers may backdate), else now."""
    if value is None:
        return timezone.now()
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    if parsed is None:
        raise crm_agent.InvalidArgument(f"invalid timestamp: {value!r}")
    return parsed


def _optional_timestamp(value: str | datetime | None) -> datetime | None:
    return None if value is None else _timestamp(value)


def _date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    parsed = parse_date(value)
    if parsed is None:
        raise crm_agent.InvalidArgument(f"invalid date: {value!r}")
    return parsed


def _money(value: str | int | float | Decimal | None) -> Decimal | None:
    # Through str: the core sends money as decimal strings, and a float must not gain digits.
    return None if value is None else Decimal(str(value))


def _staff_only(scope: Scope, what: str) -> None:
    if scope["customer_id"] is not None:
        raise crm_agent.PermissionDenied(f"customers cannot change {what}")


# --- the store --------------------------------------------------------------------------------

# Fields copied as they are between the records and the models.
_EMPLOYEE_FIELDS = frozenset(
    {"first_name", "last_name", "email", "phone", "job_title", "department", "employment_type", "status"}
    | {"emergency_contact", "role_ids"}
)
_CUSTOMER_FIELDS = frozenset(
    {"name", "customer_type", "company_name", "email", "phone", "address", "city", "state", "postal_code"}
    | {"country", "industry", "website", "status", "source", "tags", "notes", "converted_from_lead", "custom_fields"}
)
_ISSUE_FIELDS = frozenset(
    {"title", "description", "priority", "category", "status", "resolution_notes", "resolved_by", "custom_fields"}
)


class DjangoStore(crm_agent.Store):
    """Employees, customers, issues and issue comments in the ``crm`` app's tables."""

    # --- lookups inside a scope -----------------------------------------------------------

    @staticmethod
    def _employee(scope: Scope, employee_id: str, *, lock: bool = False) -> Employee:
        rows = Employee.objects.filter(organization_id=scope["organization_id"], pk=employee_id)
        # Employees are staff records: a customer scope sees none of them.
        visible = scope["customer_id"] is None
        found = (rows.select_for_update() if lock else rows).first() if visible else None
        if found is None:
            raise crm_agent.NotFound(f"employee not found: {employee_id}")
        return found

    def _assignee(self, scope: Scope, employee_id: str | None) -> Employee | None:
        """A reference to an employee (assignee, manager); ``None`` clears it."""
        return None if employee_id is None else self._employee(scope, employee_id)

    @staticmethod
    def _customer(scope: Scope, customer_id: str, *, lock: bool = False) -> Customer:
        rows = Customer.objects.filter(organization_id=scope["organization_id"], pk=customer_id)
        visible = scope["customer_id"] is None or scope["customer_id"] == customer_id
        found = (rows.select_for_update() if lock else rows).first() if visible else None
        if found is None:
            raise crm_agent.NotFound(f"customer not found: {customer_id}")
        return found

    @staticmethod
    def _issue(scope: Scope, issue_id: str, *, lock: bool = False) -> Issue:
        rows = Issue.objects.filter(organization_id=scope["organization_id"], pk=issue_id)
        if scope["customer_id"] is not None:
            rows = rows.filter(customer_id=scope["customer_id"])
        found = (rows.select_for_update() if lock else rows).first()
        if found is None:
            raise crm_agent.NotFound(f"issue not found: {issue_id}")
        return found

    @staticmethod
    def _login(user_id: str | None) -> Any:
        """The Django user a record's ``user_id`` names (the user's primary key)."""
        if user_id is None:
            return None
        try:
            return get_user_model().objects.get(pk=user_id)
        except (ValueError, get_user_model().DoesNotExist):
            raise crm_agent.NotFound(f"user not found: {user_id}") from None

    # --- writes shared by create and update -----------------------------------------------

    def _set_employee(self, scope: Scope, employee: Employee, values: Record) -> None:
        for key, value in values.items():
            if key == "manager_id":
                employee.manager = self._assignee(scope, value)
            elif key == "user_id":
                employee.login = self._login(value)
            elif key == "hire_date":
                employee.hire_date = _date(value)
            elif key in ("salary", "commission_rate"):
                setattr(employee, key, _money(value))
            elif key in _EMPLOYEE_FIELDS:
                setattr(employee, key, value)
            elif key != "created_at":
                raise crm_agent.InvalidArgument(f"unknown employee field: {key}")

    def _set_customer(self, scope: Scope, customer: Customer, values: Record) -> None:
        for key, value in values.items():
            if key == "assigned_to":
                customer.assigned_to = self._assignee(scope, value)
            elif key == "user_id":
                customer.login = self._login(value)
            elif key == "credit_limit":
                customer.credit_limit = _money(value)
            elif key in _CUSTOMER_FIELDS:
                setattr(customer, key, value)
            elif key != "created_at":
                raise crm_agent.InvalidArgument(f"unknown customer field: {key}")

    def _set_issue(self, scope: Scope, issue: Issue, values: Record) -> None:
        for key, value in values.items():
            if key == "customer_id":
                issue.customer = None if value is None else self._customer(scope, value)
            elif key == "order_id":
                if value is not None:
                    raise crm_agent.NotFound(f"order not found: {value}")
            elif key == "assigned_to":
                issue.assigned_to = self._assignee(scope, value)
            elif key == "resolved_at":
                issue.resolved_at = _optional_timestamp(value)
            elif key in _ISSUE_FIELDS:
                setattr(issue, key, value)
            elif key != "created_at":
                raise crm_agent.InvalidArgument(f"unknown issue field: {key}")

    @staticmethod
    def _stamp(row: Employee | Customer | Issue, new: Record) -> None:
        row.created_at = row.updated_at = _timestamp(new.get("created_at"))

    # --- employees ------------------------------------------------------------------------

    @_orm
    def list_employees(self, scope: Scope, filter: Record, page: PageRequest) -> Record:
        rows = Employee.objects.filter(organization_id=scope["organization_id"])
        if scope["customer_id"] is not None:
            rows = rows.none()
        rows = _equal(rows, filter, {"status": "status", "department": "department"})
        rows = _search(rows, filter.get("search"), ("first_name", "last_name", "email", "job_title"))
        rows = _spans(rows, filter, {"created": "created_at", "updated": "updated_at"})
        return _page(rows, page, employee_record, _order(filter.get("sort"), _EMPLOYEE_SORTS))

    @_orm
    def get_employee(self, scope: Scope, id: str) -> Record:
        return employee_record(self._employee(scope, id))

    @_orm
    def create_employee(self, scope: Scope, new: Record) -> Record:
        _staff_only(scope, "employees")
        employee = Employee(organization_id=scope["organization_id"])
        self._set_employee(scope, employee, new)
        self._stamp(employee, new)
        employee.save(force_insert=True)
        return employee_record(employee)

    @_orm
    def update_employee(self, scope: Scope, id: str, patch: Record) -> Record:
        _staff_only(scope, "employees")
        with transaction.atomic():
            employee = self._employee(scope, id, lock=True)
            self._set_employee(scope, employee, patch)
            employee.updated_at = timezone.now()
            employee.save()
        return employee_record(employee)

    # --- customers ------------------------------------------------------------------------

    @_orm
    def list_customers(self, scope: Scope, filter: Record, page: PageRequest) -> Record:
        rows = Customer.objects.filter(organization_id=scope["organization_id"])
        if scope["customer_id"] is not None:
            rows = rows.filter(pk=scope["customer_id"])
        rows = _equal(
            rows, filter, {"status": "status", "customer_type": "customer_type", "assigned_to": "assigned_to_id"}
        )
        rows = _search(rows, filter.get("search"), ("name", "company_name", "email", "phone"))
        rows = _custom_fields(rows, filter.get("custom_fields"))
        rows = _spans(rows, filter, {"created": "created_at", "updated": "updated_at"})
        return _page(rows, page, customer_record, _order(filter.get("sort"), _CUSTOMER_SORTS))

    @_orm
    def get_customer(self, scope: Scope, id: str) -> Record:
        return customer_record(self._customer(scope, id))

    @_orm
    def create_customer(self, scope: Scope, new: Record) -> Record:
        _staff_only(scope, "customers")
        customer = Customer(organization_id=scope["organization_id"])
        self._set_customer(scope, customer, new)
        self._stamp(customer, new)
        customer.save(force_insert=True)
        return customer_record(customer)

    @_orm
    def update_customer(self, scope: Scope, id: str, patch: Record) -> Record:
        _staff_only(scope, "customers")
        with transaction.atomic():
            customer = self._customer(scope, id, lock=True)
            self._set_customer(scope, customer, patch)
            customer.updated_at = timezone.now()
            customer.save()
        return customer_record(customer)

    # --- issues ---------------------------------------------------------------------------

    @_orm
    def list_issues(self, scope: Scope, filter: Record, page: PageRequest) -> Record:
        rows = Issue.objects.filter(organization_id=scope["organization_id"])
        if scope["customer_id"] is not None:
            rows = rows.filter(customer_id=scope["customer_id"])
        rows = _equal(
            rows,
            filter,
            {
                "status": "status",
                "priority": "priority",
                "category": "category",
                "assigned_to": "assigned_to_id",
                "customer_id": "customer_id",
            },
        )
        if filter.get("order_id") is not None:
            rows = rows.none()  # no issue is about an order: this site keeps none
        rows = _search(rows, filter.get("search"), ("number", "title", "description"))
        rows = _custom_fields(rows, filter.get("custom_fields"))
        rows = _spans(rows, filter, {"created": "created_at", "updated": "updated_at", "resolved": "resolved_at"})
        return _page(rows, page, issue_record, _order(filter.get("sort"), _ISSUE_SORTS))

    @_orm
    def get_issue(self, scope: Scope, id: str) -> Record:
        return issue_record(self._issue(scope, id))

    @_orm
    def create_issue(self, scope: Scope, new: Record) -> Record:
        if new.get("customer_id") is None and scope["customer_id"] is not None:
            # A customer's issue is always theirs; one for nobody would vanish from their view.
            raise crm_agent.NotFound("customer not found: (none)")
        issue = Issue(organization_id=scope["organization_id"])
        self._set_issue(scope, issue, new)
        self._stamp(issue, new)
        year = issue.created_at.year
        with transaction.atomic():
            # The counter row stays locked until the issue is saved, so no two issues get one
            # number: select_for_update locks it on PostgreSQL and MySQL, and SQLite's
            # IMMEDIATE transactions (see settings) let one writer in at a time.
            counter, _ = IssueCounter.objects.select_for_update().get_or_create(
                organization_id=scope["organization_id"], year=year
            )
            counter.last += 1
            counter.save(update_fields=["last"])
            issue.number = f"ISS-{year}-{counter.last:04}"
            issue.save(force_insert=True)
        return issue_record(issue)

    @_orm
    def update_issue(self, scope: Scope, id: str, patch: Record) -> Record:
        _staff_only(scope, "issues")
        with transaction.atomic():
            issue = self._issue(scope, id, lock=True)
            self._set_issue(scope, issue, patch)
            issue.updated_at = timezone.now()
            issue.save()
        return issue_record(issue)

    @_orm
    def add_issue_comment(self, scope: Scope, new: Record) -> Record:
        issue = self._issue(scope, new["issue_id"])
        if scope["customer_id"] is not None and new.get("internal"):
            raise crm_agent.PermissionDenied("customers cannot write internal comments")
        comment = IssueComment.objects.create(
            organization_id=scope["organization_id"],
            issue=issue,
            author_user_id=new["author_user_id"],
            author_name=new["author_name"],
            body=new["body"],
            internal=bool(new.get("internal")),
        )
        return comment_record(comment)

    @_orm
    def list_issue_comments(self, scope: Scope, issue: str, include_internal: bool, page: PageRequest) -> Record:
        found = self._issue(scope, issue)
        rows = IssueComment.objects.filter(organization_id=scope["organization_id"], issue=found)
        # Internal notes never reach a customer, whatever the caller asked for.
        if not include_internal or scope["customer_id"] is not None:
            rows = rows.filter(internal=False)
        return _page(rows, page, comment_record, ("created_at", False))
