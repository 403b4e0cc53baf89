"""The site's own CRM tables: employees, customers, support issues and their comments.

They are ordinary Django models (the admin edits them, migrations create them); the assistant
reaches them only through ``crm.store.DjangoStore``. Every row carries the id of the crm-agent
organization it belongs to, and every query of the store filters by it, so one set of tables
can hold several tenants. Fields and allowed values follow the core's records (the tools'
JSON), so the store can answer with them as they are.
"""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.db import models
from django.utils import timezone

SHORT = 200  # the core's longest one-line text (MAX_SHORT_TEXT)


def _new_id(prefix: str) -> str:
    """An opaque id in the core's style. The leading nanosecond clock makes ids sort in creation
    order, so rows created within one microsecond still list newest first."""
    return f"{prefix}_{time.time_ns():016x}{secrets.token_hex(6)}"


def new_employee_id() -> str:
    return _new_id("emp")


def new_customer_id() -> str:
    return _new_id("cus")


def new_issue_id() -> str:
    return _new_id("iss")


def new_comment_id() -> str:
    return _new_id("cmt")


def _short() -> models.CharField:
    """An optional one-line text: NULL, not "", when absent, as the records say ``null``."""
    return models.CharField(max_length=SHORT, null=True, blank=True)


class Employee(models.Model):
    """Someone who works for the organization; optionally the crm record of a Django login."""

    class EmploymentType(models.TextChoices):
        FULL_TIME = "full_time"
        PART_TIME = "part_time"
        CONTRACT = "contract"
        INTERN = "intern"

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"
        ON_LEAVE = "on_leave"
        TERMINATED = "terminated"

    id = models.CharField(primary_key=True, max_length=40, default=new_employee_id, editable=False)
    organization_id = models.CharField(max_length=64, editable=False)
    login = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="crm_employees"
    )
    first_name = models.CharField(max_length=SHORT)
    last_name = models.CharField(max_length=SHORT)
    email = models.CharField(max_length=SHORT)
    phone = _short()
    job_title = _short()
    department = _short()
    employment_type = models.CharField(max_length=20, choices=EmploymentType, default=EmploymentType.FULL_TIME)
    status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE)
    manager = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    # Organization roles are kept by crm-agent's policy here (Django groups), so this stays empty.
    role_ids = models.JSONField(default=list, blank=True)
    hire_date = models.DateField(null=True, blank=True)
    salary = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    commission_rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    emergency_contact = _short()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (models.Index(fields=("organization_id", "-created_at"), name="crm_employee_newest"),)
        constraints = (
            # One employee record per login and organization: the user context looks it up.
            models.UniqueConstraint(fields=("organization_id", "login"), name="crm_employee_one_per_login"),
        )

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Customer(models.Model):
    """A customer of the organization; ``login`` lets that customer use the assistant."""

    class Type(models.TextChoices):
        INDIVIDUAL = "individual"
        BUSINESS = "business"

    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"
        PROSPECT = "prospect"
        VIP = "vip"

    id = models.CharField(primary_key=True, max_length=40, default=new_customer_id, editable=False)
    organization_id = models.CharField(max_length=64, editable=False)
    name = models.CharField(max_length=SHORT)
    customer_type = models.CharField(max_length=20, choices=Type, default=Type.INDIVIDUAL)
    company_name = _short()
    email = _short()
    phone = _short()
    address = _short()
    city = _short()
    state = _short()
    postal_code = _short()
    country = _short()
    industry = _short()
    website = _short()
    status = models.CharField(max_length=20, choices=Status, default=Status.ACTIVE)
    assigned_to = models.ForeignKey(
        Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    credit_limit = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    source = _short()
    tags = models.JSONField(default=list, blank=True)
    notes = models.TextField(null=True, blank=True)
    # Leads live elsewhere (this site keeps none); the id is kept as the core gave it.
    converted_from_lead = models.CharField(max_length=64, null=True, blank=True)
    login = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="crm_customers"
    )
    custom_fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (models.Index(fields=("organization_id", "-created_at"), name="crm_customer_newest"),)
        constraints = (models.UniqueConstraint(fields=("organization_id", "login"), name="crm_customer_one_per_login"),)

    def __str__(self) -> str:
        return self.name


class Issue(models.Model):
    """A support ticket, numbered ``ISS-YYYY-NNNN`` per organization and year."""

    class Priority(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"
        URGENT = "urgent"

    class Category(models.TextChoices):
        GENERAL = "general"
        DELIVERY = "delivery"
        QUALITY = "quality"
        BILLING = "billing"
        COMMUNICATION = "communication"
        TECHNICAL = "technical"
        OTHER = "other"

    class Status(models.TextChoices):
        OPEN = "open"
        IN_PROGRESS = "in_progress"
        RESOLVED = "resolved"
        CLOSED = "closed"

    id = models.CharField(primary_key=True, max_length=40, default=new_issue_id, editable=False)
    organization_id = models.CharField(max_length=64, editable=False)
    number = models.CharField(max_length=20, editable=False)
    title = models.CharField(max_length=SHORT)
    description = models.TextField(null=True, blank=True)
    priority = models.CharField(max_length=20, choices=Priority, default=Priority.MEDIUM)
    category = models.CharField(max_length=20, choices=Category, default=Category.GENERAL)
    status = models.CharField(max_length=20, choices=Status, default=Status.OPEN)
    # Customers are deactivated, never deleted, so an issue keeps its customer.
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="issues")
    assigned_to = models.ForeignKey(Employee, null=True, blank=True, on_delete=models.SET_NULL, related_name="issues")
    resolution_notes = models.TextField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = _short()
    custom_fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (models.Index(fields=("organization_id", "-created_at"), name="crm_issue_newest"),)
        constraints = (models.UniqueConstraint(fields=("organization_id", "number"), name="crm_issue_number_unique"),)

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class IssueCounter(models.Model):
    """The last issue number given out per organization and year; its row is locked while a
    number is taken (see ``DjangoStore.create_issue``)."""

    organization_id = models.CharField(max_length=64)
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = (models.UniqueConstraint(fields=("organization_id", "year"), name="crm_issue_counter_unique"),)


class IssueComment(models.Model):
    """A comment on an issue. Internal comments are for staff only and never reach customers."""

    id = models.CharField(primary_key=True, max_length=40, default=new_comment_id, editable=False)
    organization_id = models.CharField(max_length=64, editable=False)
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="comments")
    author_user_id = models.CharField(max_length=SHORT)
    author_name = models.CharField(max_length=SHORT)
    body = models.TextField()
    internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.author_name}: {self.body[:40]}"
