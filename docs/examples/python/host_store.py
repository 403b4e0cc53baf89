"""docs/python.md, "Your own tables": a store over the host's data, customers only.

Every method stays inside `scope`; inputs arrive validated; what the store leaves out (here:
everything but customers) is either kept by the agent's own database (tenants, conversations,
pending actions, audit) or hidden from the model (leads, deals, issues...).
"""

import uuid
from datetime import datetime, timezone

import crm_agent


class CustomerTable(crm_agent.Store):
    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}

    def _visible(self, scope: dict, row: dict) -> bool:
        return row["organization_id"] == scope["organization_id"] and scope["customer_id"] in (None, row["id"])

    def list_customers(self, scope: dict, filter: dict, page: dict) -> dict:
        rows = [r for r in self.rows.values() if self._visible(scope, r)]
        if filter.get("status"):
            rows = [r for r in rows if r["status"] == filter["status"]]
        rows.sort(key=lambda r: r["created_at"], reverse=True)
        start = int(page["cursor"] or 0)
        end = start + page["limit"]
        return {"items": rows[start:end], "total": len(rows), "next_cursor": str(end) if end < len(rows) else None}

    def get_customer(self, scope: dict, id: str) -> dict:
        row = self.rows.get(id)
        if row is None or not self._visible(scope, row):
            raise crm_agent.NotFound(f"customer not found: {id}")
        return row

    def create_customer(self, scope: dict, new: dict) -> dict:
        now = datetime.now(timezone.utc)
        row = {**new, "id": f"cus_{uuid.uuid4().hex}", "organization_id": scope["organization_id"]}
        row["created_at"] = row["updated_at"] = new.get("created_at") or now
        self.rows[row["id"]] = row
        return row

    def update_customer(self, scope: dict, id: str, patch: dict) -> dict:
        row = self.get_customer(scope, id)
        row.update(patch, updated_at=datetime.now(timezone.utc))
        return row


agent = crm_agent.Agent(store=CustomerTable())  # bookkeeping in an in-memory SQLite database
org = agent.ensure_organization("acme", "Acme Corp")
ctx = crm_agent.UserContext("alice", org["id"], "owner", display_name="Alice")

created = agent.call_tool(ctx, "create_customer", {"name": "Initech", "email": "hello@initech.example"})
print("created", created["name"])
print("tools:", sorted(t["name"] for t in agent.tools(ctx) if "customer" in t["name"]))
try:
    agent.call_tool(ctx, "list_deals", {})
except crm_agent.NotFound as error:
    print("no deals here:", error)
