"""The assistant's HTTP endpoints (JSON, and Server-Sent Events for a chat turn) and its page.

Every endpoint acts for the logged-in Django user (session auth, so POSTs need the CSRF token
as usual); an anonymous request gets 401 JSON, a user with no role in the CRM 403 JSON.
crm-agent errors become JSON errors with the status their kind means.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import crm_agent
from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from crm.agent import get_agent, organization_id
from crm.identity import user_context

AsyncView = Callable[..., Awaitable[HttpResponse]]

# The HTTP status of each crm-agent error kind.
STATUS_OF_KIND = {
    "invalid_argument": 400,
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "conflict": 409,
    "unsupported": 501,
    "model": 502,
    "store": 500,
    "unavailable": 503,
}


def _error(kind: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": kind, "message": message}}, status=status)


def json_errors(view: AsyncView) -> AsyncView:
    """Answers crm-agent errors raised by ``view`` as JSON. Other exceptions (a store's own,
    which come back from the agent unchanged) are left to Django: a 500 and a logged trace."""

    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return await view(request, *args, **kwargs)
        except crm_agent.CrmAgentError as error:
            return _error(error.kind, str(error), STATUS_OF_KIND.get(error.kind, 500))

    return wrapper


def _caller_sync(user: Any) -> tuple[crm_agent.Agent, crm_agent.UserContext]:
    agent = get_agent()
    return agent, user_context(user, organization_id())


async def _caller(request: HttpRequest) -> tuple[crm_agent.Agent, crm_agent.UserContext]:
    """The agent and the context of the request's user; raises ``Unauthenticated`` for an
    anonymous request."""
    user = await request.auser()
    if not user.is_authenticated:
        raise crm_agent.Unauthenticated("log in to use the assistant")
    # ORM queries (groups, linked rows), and building the agent the first time: not on the loop.
    return await sync_to_async(_caller_sync)(user)


def _chat_request(body: bytes) -> tuple[str, str | None]:
    """``message`` and ``conversation_id`` of a chat request's JSON body."""
    try:
        data = json.loads(body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise crm_agent.InvalidArgument("the body must be JSON") from None
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, str) or not message.strip():
        raise crm_agent.InvalidArgument('`message` must be a non-empty string: {"message": "…"}')
    conversation_id = data.get("conversation_id")
    if conversation_id is not None and not isinstance(conversation_id, str):
        raise crm_agent.InvalidArgument("`conversation_id` must be a string")
    return message, conversation_id


async def _sse(stream: crm_agent.ChatStream) -> AsyncIterator[str]:
    # Leaving this block closes the stream, which cancels the turn: when it is over, and when
    # the client goes away (Django then cancels this generator), so no turn runs on unheard.
    async with stream:
        async for event in stream:
            yield crm_agent.sse_encode(event)


@require_POST
@json_errors
async def chat(request: HttpRequest) -> HttpResponse:
    """One chat turn as Server-Sent Events. Body: ``{"message": …, "conversation_id": …}``
    (omit the id to start a conversation; the ``started`` event carries it)."""
    agent, ctx = await _caller(request)
    message, conversation_id = _chat_request(request.body)
    stream = agent.chat(ctx, message, conversation_id)
    return StreamingHttpResponse(
        _sse(stream),
        content_type="text/event-stream",
        # Proxies must pass each event on at once rather than buffer the answer.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


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
