"""The base class of stores written in Python.

Subclass ``Store`` and define the methods of the entities your application keeps, as plain
``def`` or ``async def``. Each is called with keyword arguments and answers plain data:

- ``scope`` is ``{"organization_id": str, "customer_id": str | None}``; every read and write
  must stay inside it (a record of another organization, or of another customer when
  ``customer_id`` is set, does not exist: raise ``crm_agent.NotFound``);
- the other arguments are named as in the core's ``Store`` trait: ``id``, ``filter``, ``page``
  (``{"limit", "cursor"}``), ``new``, ``patch`` (only the fields to change; ``None`` clears);
- lists answer ``{"items": [...], "total": int, "next_cursor": str | None}``, newest first;
- records are dicts shaped like the tools' JSON (see ``docs/python.md``); ``datetime``,
  ``date``, ``Decimal`` and ``UUID`` values are accepted and sent as strings.

Methods come in groups; a group with a method missing is "unsupported", and the tools that
need it are hidden from the model and from ``Agent.tools``. The groups a store commonly
implements:

=====================  ===================================================================
customers              ``list_customers``, ``get_customer`` (read);
                       ``create_customer``, ``update_customer`` (write)
issues                 ``list_issues``, ``get_issue``, ``list_issue_comments`` (read);
                       ``create_issue``, ``update_issue``, ``add_issue_comment`` (write)
employees              ``list_employees``, ``get_employee``; ``create_employee``, ``update_employee``
leads, deals, orders,  likewise (see ``crm_agent::store::host::methods_of`` in the Rust docs)
payments, activities
=====================  ===================================================================

``async def`` methods run on the package's own event loop (a daemon thread), not on the
caller's, so a store coroutine never waits for a loop that may be blocked in a sync call; an
async resource bound to another loop (an asyncpg pool created in your app's loop) cannot be
used from them.

Organizations, conversations, pending actions, audit events and idempotency keys are kept in
the agent's own ``database`` unless the store implements them too. Exceptions raised here
travel through the agent unchanged: the caller of ``Agent.call_tool`` gets the same object.
"""

from __future__ import annotations


class Store:
    """Base class of host stores; it implements nothing by itself."""

    __slots__ = ()
