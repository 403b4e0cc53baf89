"""What the assistant's HTTP endpoints share, whichever way they authenticate (the session
endpoints in ``crm.views``, the token endpoints of the older Django frontend in ``crm.compat``):
JSON errors, the caller's agent and context, reading a chat request, and streaming a turn.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import crm_agent
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from crm.agent import get_agent, organization_id
from crm.identity import user_context

AsyncView = Callable[..., Awaitable[HttpResponse]]
# One chat event (a dict) as the text of its SSE frame; None leaves the event out.
Encoder = Callable[[dict[str, Any]], str | None]

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


def error_response(kind: str, message: str, status: int | None = None) -> JsonResponse:
    """``{"error": {"code", "message"}}`` with the status of ``kind`` unless one is given."""
    status = STATUS_OF_KIND.get(kind, 500) if status is None else status
    return JsonResponse({"error": {"code": kind, "message": message}}, status=status)


def json_errors(view: AsyncView) -> AsyncView:
    """Answers crm-agent errors raised by ``view`` as JSON. Other exceptions (a store's own,
    which come back from the agent unchanged) are left to Django: a 500 and a logged trace."""

    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return await view(request, *args, **kwargs)
        except crm_agent.CrmAgentError as error:
            return error_response(error.kind, str(error))

    return wrapper


def agent_and_context(user: Any) -> tuple[crm_agent.Agent, crm_agent.UserContext]:
    """The agent and the context of an authenticated Django user; ``crm_agent.PermissionDenied``
    when the user has no role in the CRM. Blocking (ORM queries, and building the agent the
    first time): call it through ``sync_to_async``."""
    agent = get_agent()
    return agent, user_context(user, organization_id())


def chat_request(body: bytes) -> tuple[str, str | None]:
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


async def _frames(stream: crm_agent.ChatStream, encode: Encoder) -> AsyncIterator[str]:
    # Leaving this block closes the stream, which cancels the turn: when it is over, and when
    # the client goes away (Django then cancels this generator), so no turn runs on unheard.
    async with stream:
        async for event in stream:
            frame = encode(event)
            if frame is not None:
                yield frame


def event_stream_response(stream: crm_agent.ChatStream, encode: Encoder) -> StreamingHttpResponse:
    """A chat turn as a ``text/event-stream`` response, each event written by ``encode``."""
    return StreamingHttpResponse(
        _frames(stream, encode),
        content_type="text/event-stream",
        # Proxies must pass each event on at once rather than buffer the answer.
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
