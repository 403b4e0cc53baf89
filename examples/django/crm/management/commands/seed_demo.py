"""``manage.py seed_demo``: demo logins of every kind, and a few customers and issues.

For trying the site locally only: every login gets the same password.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser

from crm.agent import get_agent, organization_id
from crm.identity import POLICY_ROLES, user_context
from crm.models import Employee


class Command(BaseCommand):
    help = "Creates demo logins (owner, sales rep, support agent, customer) and some CRM records."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default="demo-password", help="the password of every demo login")

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        if User.objects.filter(username="owner").exists():
            self.stdout.write("The demo data is there already.")
            return
        org = organization_id()
        for role in POLICY_ROLES:
            Group.objects.get_or_create(name=role)

        def login(username: str, first: str, last: str, **flags: Any) -> User:
            return User.objects.create_user(username, password=password, first_name=first, last_name=last, **flags)

        owner = login("owner", "Olive", "Owner", is_staff=True, is_superuser=True)
        rita = login("rita", "Rita", "Rep")
        rita.groups.add(Group.objects.get(name="sales_rep"))
        sam = login("sam", "Sam", "Support")
        sam.groups.add(Group.objects.get(name="support_agent"))
        cora = login("cora", "Cora", "Customer")
        for user, department in [(rita, "Sales"), (sam, "Support")]:
            Employee.objects.create(
                organization_id=org,
                login=user,
                first_name=user.first_name,
                last_name=user.last_name,
                email=f"{user.username}@acme.example",
                department=department,
            )

        # Through the agent, as the owner: validated and numbered like the assistant's writes.
        agent = get_agent()
        as_owner = user_context(owner, org)

        def create(tool: str, **fields: Any) -> dict[str, Any]:
            return agent.call_tool(as_owner, tool, fields)

        rita_id = user_context(rita, org).employee_id
        sam_id = user_context(sam, org).employee_id
        initech = create(
            "create_customer", name="Initech", customer_type="business", email="it@initech.example", assigned_to=rita_id
        )
        create("create_customer", name="Globex", customer_type="business", status="vip", credit_limit="50000.00")
        create("create_customer", name="Umbrella Corp", customer_type="business", status="prospect")
        cora_ltd = create("create_customer", name="Cora Ltd", email="cora@cora.example", user_id=str(cora.pk))
        create("create_issue", title="Invoice shows the wrong VAT", category="billing", customer_id=cora_ltd["id"])
        late = create("create_issue", title="Late delivery", category="delivery", customer_id=initech["id"])
        agent.call_tool(as_owner, "assign_issue", {"issue_id": late["id"], "employee_id": sam_id})

        self.stdout.write(
            self.style.SUCCESS(
                f"Logins (password {password!r}): owner (staff), rita (sales_rep), sam (support_agent), "
                "cora (customer of Cora Ltd)."
            )
        )
