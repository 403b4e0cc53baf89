"""The assistant's HTTP endpoints (JSON, and Server-Sent Events for a chat turn) and its page.

Every endpoint acts for the logged-in Django user (session auth, so POSTs need the CSRF token
as usual); an anonymous request gets 401 JSON, a user with no role in the CRM 403 JSON.
crm-agent errors become JSON errors with the status their kind means.
"""

from __future__ import annotations

import crm_agent
from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from crm.web import agent_and_context, chat_request, event_stream_response, json_errors


async def _caller(request: HttpRequest) -> tuple[crm_agent.Agent, crm_agent.UserContext]:
    """The agent and the context of the request's user; raises ``Unauthenticated`` for an
    anonymous request."""
    user = await request.auser()
    if not user.is_authenticated:
        raise crm_agent.Unauthenticated("log in to use the assistant")
    # ORM queries (groups, linked rows), and building the agent the first time: not on the loop.
    return await sync_to_async(agent_and_context)(user)


@require_POST
@json_errors
async def chat(request: HttpRequest) -> HttpResponse:
    """One chat turn as Server-Sent Events. Body: ``{"message": …, "conversation_id": …}``
    (omit the id to start a conversation; the ``started`` event carries it)."""
    agent, ctx = await _caller(request)
    message, conversation_id = chat_request(request.body)
    return event_stream_response(agent.chat(ctx, message, conversation_id), crm_agent.sse_encode)


@require_GET
@json_errors
async def status(request: HttpRequest) -> HttpResponse:
    """The model and whether it is reachable, who the caller is, how many tools they have."""
    agent, ctx = await _caller(request)
    return JsonResponse(await agent.status_async(ctx))


@require_GET
@json_errors
async def tools(request: HttpRequest) -> HttpResponse:
    """The tools the caller may use, with their JSON schemas."""
    agent, ctx = await _caller(request)
    return JsonResponse({"tools": agent.tools(ctx)})


@require_POST
@json_errors
async def confirm(request: HttpRequest, action_id: str) -> HttpResponse:
    """Runs a write the model proposed (a ``confirmation_required`` event); answers the action
    and the tool's result."""
    agent, ctx = await _caller(request)
    return JsonResponse(await agent.confirm_async(ctx, action_id))


@require_POST
@json_errors
async def reject(request: HttpRequest, action_id: str) -> HttpResponse:
    """Declines a proposed write; nothing is written."""
    agent, ctx = await _caller(request)
    return JsonResponse(await agent.reject_async(ctx, action_id))


@require_GET
@login_required
@ensure_csrf_cookie
def assistant(request: HttpRequest) -> HttpResponse:
    """A minimal chat page over the endpoints above."""
    return render(request, "crm/assistant.html")
