"""`gigachat-mcp ask`: one answer streamed to the terminal, or one JSON object for scripts."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys

from .. import GigaChat, GigaChatError, Settings, StructuredOutputError, chat_options
from ._ask_extras import Thinking, extras_json, print_after, read_schema
from ._common import INTERRUPTED, USAGE, fail, report, require_credentials, settings_for
from ._saved_files import save_files


def run(args: argparse.Namespace) -> int:
    prompt = args.prompt
    if prompt is None or prompt == "-":
        if sys.stdin is None or sys.stdin.isatty():
            return fail("ask: give a prompt, or pipe one on stdin", USAGE)
        prompt = sys.stdin.read()
    if not prompt.strip():
        return fail("ask: the prompt is empty", USAGE)
    options = {"model": args.model, "system": args.system, "temperature": args.temperature,
               "max_tokens": args.max_tokens, "attachments": args.attach or None}
    schema = read_schema(args)
    quiet = args.json or bool(args.schema)  # the text is not streamed: the JSON is printed at the end
    thinking = Thinking(quiet=args.json)
    received: list[str] = []
    saved: list[dict[str, str]] = []
    final = None
    try:
        with settings_for(args.emulator) as settings:
            require_credentials(settings, f"ask {shlex.quote(args.prompt or '-')}")
            extras = chat_options(think=args.think, web=args.web, schema=schema, draw=_draws(args, settings))
            with GigaChat(settings) as giga, contextlib.closing(giga.stream(prompt, **options, **extras)) as chunks:
                for chunk in chunks:
                    if chunk.reasoning:
                        thinking.add(chunk.reasoning)
                    elif chunk.text:
                        thinking.end()
                    received.append(chunk.text)
                    if not quiet:
                        sys.stdout.write(chunk.text)
                        sys.stdout.flush()
                    if chunk.finish_reason is not None:
                        final = chunk
                saved = save_files(giga, final.files if final is not None else (), args.save_dir)
    except OSError as exc:
        return fail(f"could not save the drawn image: {exc}")
    except KeyboardInterrupt:
        if not args.json:
            sys.stdout.write("\n")
        return fail("interrupted", INTERRUPTED)
    except GigaChatError as exc:
        thinking.end()
        if any(received) and not quiet:
            sys.stdout.write("\n")
        if isinstance(exc, StructuredOutputError):
            return fail(f"{exc}\nThe answer was:\n{exc.raw_text}")
        return report(exc, args.emulator)
    thinking.end()
    text = "".join(received)
    if args.json:
        usage = final.usage if final is not None else None
        print(json.dumps({"text": text, "model": final.model if final else None,
                          "finish_reason": final.finish_reason if final else None,
                          "usage": usage and {"prompt_tokens": usage.prompt_tokens,
                                              "completion_tokens": usage.completion_tokens,
                                              "total_tokens": usage.total_tokens},
                          "files": saved, **extras_json(final, thinking)}, ensure_ascii=False))
    else:
        if not quiet:
            sys.stdout.write("\n")
        print_after(final, bool(args.schema))
        for item in saved:
            print(f"Saved image: {item['path']}")
    if final is not None and final.finish_reason == "length":
        limit = f"--max-tokens {args.max_tokens}" if args.max_tokens else "the model's length limit"
        fail(f"the answer was cut off by {limit} (finish_reason: length); raise --max-tokens or ask for less.")
    return 0


def _draws(args: argparse.Namespace, settings: Settings) -> bool:
    """The command line lets GigaChat draw when asked, unless --no-images or GIGACHAT_IMAGE_GENERATION=false."""
    return settings.image_generation and not args.no_images
