"""The assistant under the routes of the older Django frontend, mounted at ``/api/gemini/``
(see ``crm.compat_urls``), so that frontend keeps working against this site unchanged.

- Authentication is Django REST Framework's token scheme only: ``Authorization: Token <key>``
  (``rest_framework.authtoken``; ``manage.py drf_create_token <username>`` makes a key). A
  session cookie is ignored here, so these routes need no CSRF token: a cross-site page can make
  a browser send cookies, never this header. A missing or bad token is 401 with
  ``WWW-Authenticate: Token``.
- The token's user gets the same crm-agent context as on the session endpoints
  (``crm.identity``): no role in the CRM is 403, another user's pending action 404.
- A chat turn streams in that frontend's encoding: ``data: <json>`` frames, no ``event:`` line,
  the JSON being ``connected``, ``message`` (text deltas, and a proposed write with its
  ``action_id``), then ``completed`` or ``error`` (``crm_agent.compat_encode``).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import crm_agent
from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from crm.web import AsyncView, agent_and_context, chat_request, event_stream_response, json_errors

_token_auth = TokenAuthentication()


def _caller_sync(request: HttpRequest) -> tuple[crm_agent.Agent, crm_agent.UserContext]:
    try:
        authenticated = _token_auth.authenticate(request)
    except AuthenticationFailed as error:
        raise crm_agent.Unauthenticated(str(error.detail)) from None
    if authenticated is None:  # no Authorization header, or another scheme (Bearer, Basic, …)
        raise crm_agent.Unauthenticated("send your API token: `Authorization: Token <key>`")
    user, _token = authenticated
    return agent_and_context(user)


async def _caller(request: HttpRequest) -> tuple[crm_agent.Agent, crm_agent.UserContext]:
    """The agent and the context of the token's user; raises ``Unauthenticated`` without a
    valid token of an active user."""
    # The token lookup and the context's ORM queries block: not on the loop.
    return await sync_to_async(_caller_sync)(request)


def _challenge(view: AsyncView) -> AsyncView:
    """Names the token scheme on a 401, so a client knows how to authenticate."""

    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = await view(request, *args, **kwargs)
        if response.status_code == 401:
            response["WWW-Authenticate"] = _token_auth.authenticate_header(request)
        return response

    return wrapper


def _compat_frame(event: dict[str, Any]) -> str | None:
    frame = crm_agent.compat_encode(event)
    if frame is None:  # tool calls and results: that frontend has nothing to show for them
        return None
    # That frontend reads each event's type from its JSON, so there is no `event:` line.
    return f"data: {json.dumps(frame, ensure_ascii=False, separators=(',', ':'))}\n\n"


@csrf_exempt
@require_POST
@_challenge
@json_errors
async def chat(request: HttpRequest) -> HttpResponse:
    """One chat turn in the older frontend's stream encoding. Body: ``{"message": …,
    "conversation_id": …}`` (omit the id to start a conversation; ``connected`` carries it)."""
    agent, ctx = await _caller(request)
    message, conversation_id = chat_request(request.body)
    return event_stream_response(agent.chat(ctx, message, conversation_id), _compat_frame)


@csrf_exempt
@require_GET
@_challenge
@json_errors
async def status(request: HttpRequest) -> HttpResponse:
    """``{"available", "model", "api_key_configured", "user_context": {…}}``."""
    agent, ctx = await _caller(request)
    return JsonResponse(crm_agent.compat_status(await agent.status_async(ctx)))


@csrf_exempt
@require_POST
@_challenge
@json_errors
async def confirm(request: HttpRequest, action_id: str) -> HttpResponse:
    """Runs a write the model proposed (the ``message`` event with an ``action_id``); answers
    ``{"action", "result"}``."""
    agent, ctx = await _caller(request)
    return JsonResponse(await agent.confirm_async(ctx, action_id))


@csrf_exempt
@require_POST
@_challenge
@json_errors
async def reject(request: HttpRequest, action_id: str) -> HttpResponse:
    """Declines a proposed write; nothing is written. Answers the action."""
    agent, ctx = await _caller(request)
    return JsonResponse(await agent.reject_async(ctx, action_id))
