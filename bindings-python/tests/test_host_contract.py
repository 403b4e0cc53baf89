"""The typed host-store contract: ``crm_agent.store`` (and ``index.d.ts``) declare exactly the
core's host methods, type checkers hold a store to them, and at run time ``Store`` still
defines none of them."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import crm_agent
from crm_agent import _native

ROOT = Path(__file__).resolve().parents[2]


def test_the_generated_contracts_are_the_cores_list():
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts/host_contract.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_store_class_declares_every_core_method_with_its_arguments():
    tree = ast.parse(Path(crm_agent.store.__file__).read_text())
    store = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Store")
    declared = {
        node.name: [arg.arg for arg in node.args.kwonlyargs]
        for block in store.body
        if isinstance(block, ast.If)
        for node in block.body
        if isinstance(node, ast.FunctionDef)
    }
    core = {method["name"]: [arg["name"] for arg in method["args"]] for method in _native.host_store_methods()}
    assert len(core) > 60
    assert declared == core


def test_at_run_time_a_store_defines_only_its_own_methods():
    class Customers(crm_agent.Store):
        def get_customer(self, *, scope, id):
            return {"id": id}

    store = Customers()
    assert callable(store.get_customer)
    assert not hasattr(store, "list_customers")
    assert not hasattr(crm_agent.Store(), "get_customer")


def test_a_type_checker_holds_a_store_to_the_contract(tmp_path):
    (tmp_path / "stores.py").write_text(
        textwrap.dedent(
            """
            from crm_agent import Store
            from crm_agent.store import Page, PageRequest, Record, Scope


            class Good(Store):
                async def get_customer(self, *, scope: Scope, id: str) -> Record:
                    return {"id": id, "organization_id": scope["organization_id"]}

                def list_customers(self, *, scope: Scope, filter: dict, page: PageRequest) -> Page:
                    return {"items": [], "total": 0, "next_cursor": None}


            class WrongArgument(Store):
                def get_customer(self, *, scope: Scope, customer_id: str) -> Record:
                    return {}


            class WrongAnswer(Store):
                def list_customers(self, *, scope: Scope, filter: dict, page: PageRequest) -> list[Record]:
                    return []
            """
        )
    )
    # From an empty folder, so mypy finds the installed package only once.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "stores.py"], cwd=tmp_path, capture_output=True, text=True
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, result.stdout
    assert 'Signature of "get_customer" incompatible with supertype "crm_agent.store.Store"' in errors[0]
    assert 'Return type "list[Mapping[str, Any]]" of "list_customers" incompatible' in errors[1]
