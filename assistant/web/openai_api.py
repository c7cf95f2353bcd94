"""``POST /v1/chat/completions``: newsdesk behind the OpenAI wire protocol, so existing OpenAI clients can use it.

The conversation maps onto ``Assistant.ask``: the last user message is the question, earlier user/assistant pairs
are the history (follow-ups work), system messages are ignored (the answer prompt is ours). The reply is a normal
``chat.completion`` (or ``chat.completion.chunk`` stream) plus extra ``sources`` (the citations, with the outlets that
also carried each story) and ``conflicts`` (figures the cited articles disagree on) fields, so a client that knows
about them can show where each ``[n]`` comes from and others simply ignore them. Retrieval filters
come as extra body fields (``since``, ``until``, ``sources``), e.g. the openai SDK's ``extra_body``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from assistant.dates import DateError, parse_range
from assistant.limits import QuestionError, check_question, check_text
from assistant.settings import Settings
from assistant.types import Answer, Delta, Turn
from index.pipeline.tokens import count_tokens

log = logging.getLogger(__name__)

MODEL_ID = "newsdesk"


class RequestError(ValueError):
    """A request we cannot answer; becomes a 400 with an OpenAI-style error body."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class ChatRequest:
    question: str
    history: list[Turn] = field(default_factory=list)
    since: date | None = None
    until: date | None = None
    sources: list[str] = field(default_factory=list)
    stream: bool = False
    model: str = MODEL_ID


def message_text(content: Any) -> str:
    """``content`` is a string or a list of parts; only text parts count."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    raise RequestError("message content must be a string or a list of text parts", "messages")


def parse_request(body: Any, settings: Settings) -> ChatRequest:
    """The request as newsdesk reads it; ``RequestError`` (a 400) for anything malformed or over the limits."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list", "messages")
    dialogue: list[tuple[str, str]] = []
    total = 0
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise RequestError(f"messages[{i}] must be an object with a 'role'", "messages")
        text = message_text(m.get("content"))
        total += len(text)
        try:
            check_text(text, f"messages[{i}]")
        except QuestionError as exc:
            raise RequestError(str(exc), "messages") from None
        if m["role"] in ("user", "assistant"):
            dialogue.append((m["role"], text))
    if total > settings.max_conversation_chars:
        raise RequestError(f"the conversation is {total:,} characters long; the limit is "
                           f"{settings.max_conversation_chars:,} (NEWSDESK_MAX_CONVERSATION_CHARS)", "messages")
    if not dialogue or dialogue[-1][0] != "user" or not dialogue[-1][1].strip():
        raise RequestError("the last message must be a non-empty user message (the question)", "messages")
    try:
        check_question(dialogue[-1][1].strip(), settings)
    except QuestionError as exc:
        raise RequestError(str(exc), "messages") from None
    _check_options(body)
    try:
        since, until = parse_range(body.get("since"), body.get("until"), ("'since'", "'until'"), settings.today)
    except DateError as exc:
        raise RequestError(str(exc), "since") from None
    history: list[Turn] = []
    pending: str | None = None
    for role, text in dialogue[:-1]:
        if role == "user":
            pending = text if pending is None else f"{pending}\n{text}"
        elif pending is not None:
            history.append(Turn(pending, text))
            pending = None
    sources = body.get("sources") or []
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise RequestError("'sources' must be a list of source names", "sources")
    return ChatRequest(
        question=dialogue[-1][1].strip(),
        history=history,
        since=since,
        until=until,
        sources=sources,
        stream=body.get("stream") is True,
        model=str(body.get("model") or MODEL_ID),
    )


def _check_options(body: dict[str, Any]) -> None:
    """OpenAI's own options that newsdesk accepts must at least be well-formed, as OpenAI's API demands."""
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise RequestError(f"'stream' must be true or false, got {stream!r}", "stream")
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise RequestError(f"'{name}' must be a positive integer, got {value!r}", name)


def _extras(answer: Answer) -> dict[str, Any]:
    return {
        "sources": [c.to_dict() for c in answer.citations],
        "conflicts": [c.to_dict() for c in answer.conflicts],
        "newsdesk": {"mode": answer.mode, "refused": answer.refused, "notice": answer.notice,
                     "standalone_question": answer.question},
    }


def _usage(question: str, history: list[Turn], answer_text: str) -> dict[str, int]:
    """Token counts of what the client sent and received (the passages read are not counted)."""
    prompt = count_tokens(question) + sum(count_tokens(t.question) + count_tokens(t.answer) for t in history)
    completion = count_tokens(answer_text)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion(req: ChatRequest, answer: Answer, completion_id: str | None = None,
               created: int | None = None) -> dict[str, Any]:
    return {
        "id": completion_id or f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": created or int(time.time()),
        "model": req.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": _usage(req.question, req.history, answer.text),
        **_extras(answer),
    }


def stream_events(req: ChatRequest, events: Iterable[Delta | Answer], completion_id: str | None = None,
                  created: int | None = None) -> Iterator[str]:
    """Server-sent events: a role chunk, one chunk per text piece, a final chunk with ``sources``, ``[DONE]``."""
    cid = completion_id or f"chatcmpl-{uuid.uuid4().hex}"
    created = created or int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": req.model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    streamed: list[str] = []
    answer: Answer | None = None
    try:
        for event in events:
            if isinstance(event, Delta):
                if event.text:
                    streamed.append(event.text)
                    yield chunk({"content": event.text})
            else:
                answer = event
    except Exception as exc:  # the stream has started: report in-band, never a traceback
        log.exception("answer stream failed")
        error = {"message": f"the answer failed ({type(exc).__name__}); see the server log", "type": "server_error"}
        yield f"data: {json.dumps({'error': error})}\n\n"
        yield "data: [DONE]\n\n"
        return
    if answer is not None:
        rest = missing_tail("".join(streamed), answer.text)
        if rest:
            yield chunk({"content": rest})
        yield chunk({}, "stop", usage=_usage(req.question, req.history, answer.text), **_extras(answer))
    yield "data: [DONE]\n\n"


def missing_tail(streamed: str, final: str) -> str:
    """What a client that concatenated the pieces still lacks of the final text.

    Usually nothing: the pieces are the answer (up to whitespace tidied at the end). When the LLM failed part-way,
    the pieces end with the offline answer, which is the final text. Anything else (pieces that were not the
    answer) gets the final text appended, since a stream cannot take back what it sent.
    """
    if "".join(streamed.split()) == "".join(final.split()) or streamed.rstrip().endswith(final.strip()):
        return ""
    if final.startswith(streamed):
        return final[len(streamed):]
    return "\n\n" + final


def _error(status: int, message: str, param: str | None = None, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": None}}, status_code=status)


def router(assistant: Any) -> APIRouter:
    """The routes, bound to one ``Assistant`` (the same one the web chat uses)."""
    api = APIRouter(prefix="/v1")

    @api.get("/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "newsdesk"}]}

    settings: Settings = assistant.settings
    # bytes read at most: the longest conversation with every character a \uXXXX escape, plus room
    max_body = settings.max_conversation_chars * 6 + 65536

    @api.post("/chat/completions")
    async def chat_completions(request: Request) -> Any:
        raw = bytearray()
        async for part in request.stream():
            raw += part
            if len(raw) > max_body:
                return _error(413, f"the request body is larger than {max_body:,} bytes; the conversation limit is "
                                   f"{settings.max_conversation_chars:,} characters")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "the request body is not valid JSON")
        except RecursionError:
            return _error(400, "the request body is JSON nested too deeply")
        try:
            req = parse_request(body, settings)
        except RequestError as exc:
            return _error(400, str(exc), exc.param)
        args = (req.question, req.history, req.since, req.until, req.sources or None)
        if req.stream:
            return StreamingResponse(stream_events(req, assistant.ask_stream(*args)), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        try:
            answer = await run_in_threadpool(assistant.ask, *args)
        except Exception as exc:
            log.exception("answer failed")
            return _error(500, f"the answer failed ({type(exc).__name__}); see the server log", kind="server_error")
        return completion(req, answer)

    return api
