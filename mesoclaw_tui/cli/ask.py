"""`mesoclaw ask`: the headless agent turn. Text to stdout as it arrives; the routing line to stderr."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from ..core.failures import FailureKind
from ..core.types import MesoclawError
from . import output as out
from .main import EXIT_ALL_FAILED, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_NO_PROVIDER, ExitCode, json_option

# The request itself cannot be served as it is (too large for every model's context window, or a
# provider refused it as invalid): change it rather than retry.
EXIT_REQUEST_REFUSED = 5
# A budget is spent and refuses requests (`mesoclaw budget show`): nothing was sent.
EXIT_BUDGET = 6
# stdout closed by its reader (`mesoclaw ask … | head -c 10`): the shell's code for a death by SIGPIPE.
EXIT_BROKEN_PIPE = 141

FLUSH_EVERY_S = 0.02  # flush stdout at most this often: smooth for people, cheap for 50k deltas/s


def clean_text(text: str) -> str:
    """Text as valid Unicode: bytes that were not UTF-8 (kept by Python as surrogates) become U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_stdin() -> str:
    """All of stdin as text; bytes that are not UTF-8 become U+FFFD instead of an error."""
    try:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:  # a text-only stdin (tests replace it with StringIO)
            return clean_text(sys.stdin.read())
        return stream.read().decode("utf-8", "replace")
    except OSError:  # a closed or unreadable stdin is no input, not a failure
        return ""


def read_prompt(prompt: str | None, allow_empty: bool = False) -> str:
    """The prompt from the argument, stdin, or both (stdin appended as context); with attachments it
    may be empty (the files are the question)."""
    piped = None if sys.stdin is None or sys.stdin.isatty() else read_stdin()
    prompt = clean_text(prompt) if prompt else prompt
    if prompt and piped and piped.strip():
        return f"{prompt}\n\n{piped}"
    text = prompt or piped or ""
    if not text.strip() and not allow_empty:
        raise MesoclawError('give a prompt, e.g. mesoclaw ask "explain this error", or pipe text to stdin')
    return text


@click.command()
@click.argument("prompt", required=False)
@click.option("--task", help="Skip classification: code, general, fast, creative or analysis.")
@click.option("--profile", help="Route with this profile: eco, balanced or premium.")
@click.option("--model", help="Skip routing and use this model (e.g. gpt-4o or openrouter:openai/gpt-4o).")
@click.option("--system", help="A system prompt; the conversation keeps it and sends it with every turn "
                               "(with --continue or --conversation: replaces its system prompt; \"\" removes it).")
@click.option("--preset", metavar="NAME", help="Apply a preset (`mesoclaw presets`): its system prompt, profile or "
                                               "model and settings; the conversation keeps them.")
@click.option("--continue", "continue_last", is_flag=True, help="Continue the last conversation.")
@click.option("--conversation", "conversation_id", type=click.IntRange(min=1), metavar="ID",
              help="Continue conversation ID (its system prompt and preset settings are kept).")
@click.option("--regenerate", is_flag=True,
              help="Ask the last message of the conversation again, the same way; the earlier reply is kept "
                   "as an alternative.")
@click.option("--escalate", is_flag=True,
              help="Ask the last message again of a model of a higher tier (the router's choice under a higher "
                   "profile, or --model); the earlier reply is kept as an alternative; recorded.")
@click.option("--no-stream", is_flag=True, help="Print the reply once it is complete.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Longest reply, in tokens.")
@click.option("--schema", metavar="FILE|JSON",
              help="Structured output: a JSON Schema (a file, or the JSON itself) the reply must follow. "
                   "Routes only to models with structured output; prints the reply's JSON.")
@click.option("-a", "--attach", "attachments", multiple=True, metavar="PATH",
              help="Attach a file (repeatable): an image (png, jpeg, gif, webp; up to 5 MB; routes only to "
                   "models with image input) or a text file (up to 8 MB, sent after the prompt with its name).")
@click.option("-q", "--quiet", is_flag=True, help="No routing line on stderr.")
@json_option
@click.pass_context
def ask(ctx: click.Context, prompt: str | None, task: str | None, profile: str | None, model: str | None,
        system: str | None, preset: str | None, continue_last: bool, conversation_id: int | None, regenerate: bool,
        escalate: bool, no_stream: bool, max_tokens: int | None, schema: str | None, attachments: tuple[str, ...],
        quiet: bool, as_json: bool) -> None:
    """Ask one question; the router picks the model. PROMPT or stdin (or both: stdin is context).

    Exit codes: 0 a complete reply; 1 the reply is not a whole answer: it broke off mid-stream or
    passed the reply size cap (the partial text is printed and kept), was cut at the max tokens
    limit (finish reason `length`) or stopped by a content filter, or, with --schema, is not JSON
    of the schema's top-level type; 2 bad input (an unreadable or too large attachment, a bad
    schema); 3 no provider configured; 4 no model available, or every candidate failed (one stderr
    line per attempt); 5 the request was refused as it is: too large for every model's context
    window, needing what no available model has (image input, structured output), or rejected by
    the provider as invalid (change it, do not retry); 6 a budget is spent and refuses requests
    (`mesoclaw budget show`); 130 interrupted; 141 stdout closed by its reader (the reply so far is
    kept, marked cancelled). At 80% of a budget a warning goes to stderr.
    """
    import asyncio

    from .attach import read_attachments, read_schema

    redo = _checked_flags(task, profile, prompt, attachments, continue_last, conversation_id, regenerate, escalate)
    json_schema = read_schema(schema) if schema else None
    files = read_attachments(attachments)
    text = read_prompt(prompt, allow_empty=bool(attachments)) if redo is None else ""
    stream_text = not (no_stream or as_json or json_schema)
    state: dict = {"as_json": as_json}
    request = _Request(text, task, profile, model, system, continue_last, max_tokens, json_schema, files)
    request.preset, request.conversation_id, request.redo = preset, conversation_id, redo
    try:
        reply = asyncio.run(_run(ctx, request, stream_text, quiet or as_json, state))
    except BrokenPipeError:
        _stdout_closed()
    except KeyboardInterrupt:
        partial = state["engine"].interrupted_reply if "engine" in state else None
        if as_json and partial is not None:
            out.emit_json(partial.as_dict())
        raise ExitCode(EXIT_INTERRUPTED, "interrupted" + ("; the partial reply is kept" if partial and partial.text
                                                          else "")) from None
    parsed = _schema_json(reply, json_schema)
    try:
        _print_reply(reply, parsed, as_json=as_json, with_schema=json_schema is not None, streamed=stream_text,
                     extra=state.get("extra", {}))
    except BrokenPipeError:
        _stdout_closed()
    _exit_for(reply, parsed[2])


def _checked_flags(task: str | None, profile: str | None, prompt: str | None, attachments: tuple[str, ...],
                   continue_last: bool, conversation_id: int | None, regenerate: bool, escalate: bool) -> str | None:
    """Flags checked before anything is opened (bad input changes nothing); --regenerate or --escalate."""
    from ..core.types import parse_profile, parse_task
    from .redo import check_redo

    if task:
        parse_task(task)
    if profile:
        parse_profile(profile)
    if continue_last and conversation_id is not None:
        raise MesoclawError("give --continue or --conversation ID, not both")
    if regenerate and escalate:
        raise MesoclawError("give --regenerate or --escalate, not both")
    redo = "regenerate" if regenerate else "escalate" if escalate else None
    check_redo(redo, prompt, attachments, continue_last)
    return redo


def _print_reply(reply: Any, parsed: tuple[str | None, Any, str | None], *, as_json: bool, with_schema: bool,
                 streamed: bool, extra: dict[str, Any]) -> None:
    """What is printed once the reply is settled: its JSON, or its text when it was not streamed."""
    if as_json:
        extra = extra | ({"json": parsed[1]} if with_schema else {})
        out.emit_json(reply.as_dict() | {"text": reply.text} | extra)
    elif not streamed and reply.text:
        shown = parsed[0] if parsed[0] is not None else reply.text
        out.write(shown + ("" if shown.endswith("\n") else "\n"))
    sys.stdout.flush()


def _stdout_closed() -> None:
    """The reader of stdout went away: end quietly with the shell's SIGPIPE code. The reply so far was
    recorded as cancelled when the stream was closed; point stdout at /dev/null so Python's own flush
    at exit does not complain about the pipe a second time."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test's captured stdout)
        pass
    raise ExitCode(EXIT_BROKEN_PIPE)


class _Request:
    """What the command line asks for, gathered before anything is opened."""

    def __init__(self, text: str, task: str | None, profile: str | None, model: str | None, system: str | None,
                 continue_last: bool, max_tokens: int | None, schema: dict | None, files: Any):
        self.text, self.task, self.profile, self.model, self.system = text, task, profile, model, system
        self.continue_last, self.max_tokens, self.schema, self.files = continue_last, max_tokens, schema, files
        self.preset: str | None = None
        self.conversation_id: int | None = None
        self.redo: str | None = None  # regenerate or escalate
        self.redone: Any = None  # the cli.redo.Redo once prepared

    async def turn(self, service: Any) -> Any:
        """The Turn: the prompt and flags, a preset applied, or the last exchange re-asked."""
        from dataclasses import replace

        turn = await self._turn(service)
        if self.preset is not None:
            turn = replace(turn, preset=await service.require_preset(self.preset))
        if self.redo is not None:
            from .redo import prepare

            self.redone = await prepare(service, self.redo, self.conversation_id,
                                        self.model if self.redo == "escalate" else None)
            fields = self.redone.fields()
            if self.task or self.profile or (self.model and self.redo != "escalate"):  # what the user said wins
                fields |= {k: v for k, v in (("task", self.task), ("profile", self.profile), ("model", self.model))
                           if v}
            turn = replace(turn, prompt=self.redone.exchange.prompt, continue_last=False, **fields)
        elif self.conversation_id is not None:
            turn = replace(turn, conversation_id=self.conversation_id)
        return turn

    async def _turn(self, service: Any) -> Any:
        from ..engine import Turn

        response_format = None
        if self.schema is not None:
            from ..providers import ResponseFormat

            response_format = ResponseFormat("json_schema", name="response", schema=self.schema)
        if self.files.texts:
            from ..engine.attachments import check_fits, largest_window

            check_fits(self.files, await largest_window(service))
        prompt = self.files.prompt(self.text)
        return Turn(prompt, source="ask", continue_last=self.continue_last, conversation_id=self.conversation_id,
                    system=self.system, task=self.task,
                    profile=self.profile, model=self.model, max_tokens=self.max_tokens,
                    content=self.files.content(prompt), response_format=response_format)


def _schema_json(reply: Any, schema: dict | None) -> tuple[str | None, Any, str | None]:
    """With --schema and a complete reply: (its JSON text, value, None) or (None, None, why it is not)."""
    if schema is None or reply.failure is not None:
        return None, None, None
    from .attach import reply_json

    return reply_json(reply.text, schema)


async def _run(ctx, request, stream_text, quiet, state):
    from ..engine import Engine
    from ..service import RouterService

    service = await RouterService.open(ctx.find_root().params.get("db"))
    writer = _Writer() if stream_text else None
    try:
        engine = state["engine"] = Engine(service)
        turn = await request.turn(service)
        if request.redone is not None and not quiet:
            _err(_redo().describe(request.redone))
        reply, printed = await _stream(engine, turn, writer, quiet, state["as_json"])
        if request.redone is not None:
            state["extra"] = await _redo().settle(service, request.redone, reply)
        if reply.status == "failed":
            # One line per attempt: those not shown as they happened (all of them with -q or --json).
            for attempt in reply.attempts:
                if attempt.number not in printed:
                    _err(attempt_line(attempt.number, attempt))
        if writer:
            writer.finish()
        if not quiet and reply.provider:
            _err(routing_line(reply))
        after = _redo().said_after(state.get("extra", {}))
        if after and not quiet:
            _err(after)
        return reply
    except BaseException:
        if writer:
            with contextlib.suppress(BrokenPipeError):
                writer.finish()
        raise
    finally:
        if "engine" in state:
            await state["engine"].aclose()
        await service.close()


def _redo() -> Any:
    from . import redo

    return redo


async def _stream(engine, turn, writer, quiet, as_json=False) -> tuple:
    """The reply's text to stdout as it arrives, each failed attempt to stderr as it happens; a budget
    near or past its limit to stderr before the request (with --json: in the JSON only)."""
    from ..engine import Delta, FellBack, Finished, Retrying, Routed

    reply = None
    printed: set[int] = set()
    # aclosing: when printing fails (stdout closed), the engine settles the reply (kept, marked
    # cancelled) now, while the database is still open, not when the loop is torn down.
    async with contextlib.aclosing(engine.stream(turn)) as events:
        async for event in events:
            if type(event) is Delta:
                if writer:
                    writer.write(event.text)
            elif isinstance(event, FellBack | Retrying) and not quiet:
                printed.add(event.attempt.number)
                _err(attempt_line(event.attempt.number, event.attempt))
            elif isinstance(event, Finished):
                reply = event.reply
            elif type(event) is Routed and event.budget is not None and not as_json:
                said = event.budget.message()
                if said and not event.budget.refused:  # a refusal is the failure's own line
                    _err(said)
    return reply, printed


def routing_line(reply) -> str:
    fallbacks = ", ".join(f"{a.provider}:{a.model} {a.outcome}" for a in reply.fallbacks)
    from ..formatting import usd

    cost = "cost unknown" if reply.cost_usd is None else usd(reply.cost_usd)
    tokens = f"{'~' if reply.estimated else ''}{reply.input_tokens}+{reply.output_tokens} tokens"
    return (f"{reply.task.value} -> {reply.provider}:{reply.model} ({reply.profile.value}; {tokens}; {cost}"
            + (f"; fallbacks: {fallbacks}" if fallbacks else "") + ")")


def _every_candidate_failed(reply) -> str:
    count = len(reply.attempts)
    return f"every candidate failed ({count} attempt{'' if count == 1 else 's'})"


def _said(reply) -> str:
    return reply.error or "the request failed"


# A failed reply -> the exit code and the last line on stderr (the attempts were printed above it).
EXITS: dict[FailureKind, tuple[int, Callable[[Any], str]]] = {
    FailureKind.NO_PROVIDER: (EXIT_NO_PROVIDER, _said),
    FailureKind.NO_AVAILABLE_MODEL: (EXIT_ALL_FAILED, _said),
    FailureKind.ALL_FAILED: (EXIT_ALL_FAILED, _every_candidate_failed),
    FailureKind.CONTEXT_TOO_LARGE: (EXIT_REQUEST_REFUSED, _said),
    FailureKind.MISSING_CAPABILITY: (EXIT_REQUEST_REFUSED, _said),
    FailureKind.BAD_REQUEST: (EXIT_REQUEST_REFUSED, _said),
    FailureKind.INCOMPLETE: (EXIT_FAILURE, lambda reply: f"reply incomplete (the partial text is kept): {reply.error}"),
    FailureKind.CANCELLED: (EXIT_INTERRUPTED, lambda reply: "interrupted"),
    FailureKind.REPLY_TOO_LARGE: (EXIT_FAILURE, lambda reply: f"reply cut off (the text up to the cap is kept): "
                                                             f"{reply.error}"),
    FailureKind.BUDGET_EXCEEDED: (EXIT_BUDGET, _said),
}

# A complete reply that is still not a whole answer, by its finish reason: exit 1, saying why.
UNFINISHED = {
    "length": "the reply was cut off at the max tokens limit (finish reason: length); --max-tokens allows more",
    "content_filter": "the reply was stopped by the provider's content filter (finish reason: content_filter)",
}


def _exit_for(reply, not_json: str | None = None) -> None:
    if reply.failure is not None:
        code, say = EXITS[reply.failure]
        raise ExitCode(code, say(reply))
    if reply.finish_reason in UNFINISHED:
        raise ExitCode(EXIT_FAILURE, UNFINISHED[reply.finish_reason])
    if not_json:
        raise ExitCode(EXIT_FAILURE, f"{not_json}; it is printed as it came")


def attempt_line(number: int, a) -> str:
    return f"attempt {number}: {a.provider}:{a.model} {a.outcome}" + (f": {a.error}" if a.error else "")


def _err(message: str) -> None:
    out.echo(f"mesoclaw: {message}", err=True)


class _Writer:
    """Streams text to stdout, flushing on a short timer instead of per delta."""

    def __init__(self) -> None:
        self.stdout = sys.stdout
        self.last_flush = time.monotonic()
        self.wrote_any = False
        self.last = ""

    def write(self, text: str) -> None:
        self.stdout.write(out.neutralise(text))
        self.wrote_any = True
        self.last = text
        now = time.monotonic()
        if now - self.last_flush >= FLUSH_EVERY_S:
            self.stdout.flush()
            self.last_flush = now

    def finish(self) -> None:
        if self.wrote_any and not self.last.endswith("\n"):
            self.stdout.write("\n")
        try:
            self.stdout.flush()
        except BrokenPipeError:
            pass


def register(cli: click.Group) -> None:
    cli.add_command(ask)
