"""Who a logged-in Django user is to the assistant: their ``crm_agent.UserContext``.

The agent never takes identity from the model or from a request body; the site decides it from
its own records:

1. superusers and staff run the site: role ``owner`` (every permission in the organization);
2. members of Django groups named like the policy's roles (``sales_manager``, ``sales_rep``,
   ``support_agent``, ``viewer``) are employees with those roles, and with the ``Employee`` row
   linked to their login, if any (so "my customers" and "assign to me" work);
3. a login linked to a ``Customer`` row is that customer: they see only their own records;
4. anyone else has no access to the assistant.

Staff and groups come first because only Django admins grant them, while a customer's linked
login is CRM data that employees edit: linking a staff member to a customer row must not narrow
(or widen) what that staff member may do.
"""

from __future__ import annotations

import crm_agent
from django.contrib.auth.models import AbstractUser

from crm.models import Customer, Employee

# The built-in policy's employee roles; a group of one of these names grants that role.
POLICY_ROLES = ("sales_manager", "sales_rep", "support_agent", "viewer")


def user_context(user: AbstractUser, organization_id: str) -> crm_agent.UserContext:
    """The context of ``user`` in the organization; ``crm_agent.PermissionDenied`` when the
    user has no role in the CRM."""
    user_id = str(user.pk)
    name = user.get_full_name() or user.get_username()
    if user.is_superuser or user.is_staff:
        return crm_agent.UserContext(user_id, organization_id, "owner", display_name=name)
    roles = sorted(user.groups.filter(name__in=POLICY_ROLES).values_list("name", flat=True))
    if roles:
        employee_id = (
            Employee.objects.filter(organization_id=organization_id, login=user).values_list("pk", flat=True).first()
        )
        return crm_agent.UserContext(
            user_id, organization_id, "employee", employee_id=employee_id, roles=roles, display_name=name
        )
    customer_id = (
        Customer.objects.filter(organization_id=organization_id, login=user).values_list("pk", flat=True).first()
    )
    if customer_id is not None:
        return crm_agent.UserContext(user_id, organization_id, "customer", customer_id=customer_id, display_name=name)
    raise crm_agent.PermissionDenied("this account has no role in the CRM")
