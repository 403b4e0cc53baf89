"""The Django store: the core's conformance suite, issue numbers under concurrency, and the
user contexts built from Django users."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import crm_agent
from asgiref.sync import sync_to_async
from crm.agent import get_agent
from crm.identity import user_context
from crm.models import Customer, Employee, Issue, IssueComment, IssueCounter
from crm.store import DjangoStore, customer_record
from crm_agent.testing import assert_store_conforms
from django.db.models import Model

from tests.support import AssistantTestCase

# The cases for what DjangoStore keeps (employees, customers, issues and their comments);
# the others need entities it leaves out and are skipped.
MUST_RUN = [
    "customers_crud_and_filters",
    "customer_dates_and_orders",
    "pagination_totals",
    "issues_numbers_and_comments",
    "customer_isolation",
    "issue_isolation",
    # Kept by the agent's own database, behind the Django store.
    "conversations_crud_and_pages",
    "pending_action_lifecycle",
]

TABLES: list[type[Model]] = [IssueComment, Issue, IssueCounter, Customer, Employee]


def empty_store() -> DjangoStore:
    """A store over empty tables: each case of the suite starts from nothing."""
    for table in TABLES:
        table.objects.all().delete()
    return DjangoStore()


class ConformanceTests(AssistantTestCase):
    def test_the_django_store_passes_the_conformance_suite(self) -> None:
        results = assert_store_conforms(empty_store, must_run=MUST_RUN)
        skipped = {r["name"] for r in results if r["outcome"] == "skipped"}
        self.assertIn("deals_and_pipelines", skipped)

    def test_the_suite_catches_a_store_that_leaks_across_customers(self) -> None:
        class Leaky(DjangoStore):
            """Forgets the customer scope when reading one customer."""

            def get_customer(self, scope: dict[str, Any], id: str) -> dict[str, Any]:
                found = Customer.objects.get(organization_id=scope["organization_id"], pk=id)
                return customer_record(found)

        def leaky() -> DjangoStore:
            empty_store()
            return Leaky()

        with self.assertRaisesRegex(AssertionError, "customer_isolation"):
            assert_store_conforms(leaky)


class IssueNumberTests(AssistantTestCase):
    async def test_concurrent_issues_get_distinct_numbers(self) -> None:
        agent = await sync_to_async(get_agent)()
        owner = crm_agent.UserContext("owner-1", self.org, "owner")
        created = await asyncio.gather(
            *(agent.call_tool_async(owner, "create_issue", {"title": f"Issue {i}"}) for i in range(20))
        )
        year = datetime.now(timezone.utc).year
        numbers = sorted(issue["number"] for issue in created)
        self.assertEqual(numbers, [f"ISS-{year}-{n:04}" for n in range(1, 21)])
        self.assertEqual(await Issue.objects.acount(), 20)


class UserContextTests(AssistantTestCase):
    def test_staff_and_superusers_are_owners(self) -> None:
        ctx = user_context(self.owner(), self.org)
        self.assertEqual((ctx.role, ctx.organization_id, ctx.display_name), ("owner", self.org, "Olive"))

    def test_policy_groups_make_employees(self) -> None:
        user = self.employee("rita", "sales_rep", "viewer")
        user.groups.create(name="book_club")  # not a policy role: ignored
        ctx = user_context(user, self.org)
        self.assertEqual((ctx.role, ctx.roles), ("employee", ["sales_rep", "viewer"]))
        self.assertEqual(ctx.employee_id, Employee.objects.get(login=user).id)

    def test_a_linked_login_is_that_customer(self) -> None:
        customer = self.customer("Cora Ltd")
        ctx = user_context(self.customer_login("cora", customer), self.org)
        self.assertEqual((ctx.role, ctx.customer_id), ("customer", customer.id))

    def test_a_customer_link_in_another_organization_does_not_count(self) -> None:
        user = self.customer_login("cora", self.customer("Cora Ltd"))
        with self.assertRaises(crm_agent.PermissionDenied):
            user_context(user, "org_elsewhere")

    def test_staff_roles_win_over_a_customer_link(self) -> None:
        user = self.employee("sam", "support_agent")
        self.customer("Sam's Shop", login=user)
        self.assertEqual(user_context(user, self.org).role, "employee")
