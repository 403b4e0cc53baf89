"""The CRM tables in Django's admin. Rows added here belong to this site's organization.

Issues are opened through the assistant (or ``DjangoStore.create_issue``), which gives them
their ``ISS-`` number; the admin shows and edits them but does not add them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from crm.agent import organization_id
from crm.models import Customer, Employee, Issue, IssueComment


class InOrganization(admin.ModelAdmin):
    """Shows only rows of this site's organization, and puts new rows in it."""

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(organization_id=organization_id())

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Assignees, managers and customers are offered from this organization only.
        if db_field.related_model in (Employee, Customer):
            kwargs["queryset"] = db_field.related_model.objects.filter(organization_id=organization_id())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.organization_id = organization_id()
        super().save_model(request, obj, form, change)


@admin.register(Employee)
class EmployeeAdmin(InOrganization):
    list_display = ("first_name", "last_name", "email", "department", "status", "login")
    search_fields = ("first_name", "last_name", "email")


@admin.register(Customer)
class CustomerAdmin(InOrganization):
    list_display = ("name", "customer_type", "email", "status", "assigned_to", "login")
    list_filter = ("status", "customer_type")
    search_fields = ("name", "company_name", "email", "phone")


class CommentInline(admin.TabularInline):
    model = IssueComment
    extra = 0
    readonly_fields = ("author_name", "body", "internal", "created_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Issue)
class IssueAdmin(InOrganization):
    list_display = ("number", "title", "status", "priority", "customer", "assigned_to")
    list_filter = ("status", "priority", "category")
    search_fields = ("number", "title")
    readonly_fields = ("number",)
    inlines = (CommentInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
