"""`gigachat-mcp ask`: one answer streamed to the terminal, or one JSON object for scripts."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys

from .. import GigaChat, GigaChatError
from ._common import INTERRUPTED, USAGE, fail, report, require_credentials, settings_for


def run(args: argparse.Namespace) -> int:
    prompt = args.prompt
    if prompt is None or prompt == "-":
        if sys.stdin is None or sys.stdin.isatty():
            return fail("ask: give a prompt, or pipe one on stdin", USAGE)
        prompt = sys.stdin.read()
    if not prompt.strip():
        return fail("ask: the prompt is empty", USAGE)
    options = {"model": args.model, "system": args.system, "temperature": args.temperature,
               "max_tokens": args.max_tokens}
    received: list[str] = []
    final = None
    try:
        with settings_for(args.emulator) as settings:
            require_credentials(settings, f"ask {shlex.quote(args.prompt or '-')}")
            with GigaChat(settings) as giga, contextlib.closing(giga.stream(prompt, **options)) as chunks:
                for chunk in chunks:
                    received.append(chunk.text)
                    if not args.json:
                        sys.stdout.write(chunk.text)
                        sys.stdout.flush()
                    if chunk.finish_reason is not None:
                        final = chunk
    except KeyboardInterrupt:
        if not args.json:
            sys.stdout.write("\n")
        return fail("interrupted", INTERRUPTED)
    except GigaChatError as exc:
        if received and not args.json:
            sys.stdout.write("\n")
        return report(exc)
    text = "".join(received)
    if args.json:
        usage = final.usage if final is not None else None
        print(json.dumps({"text": text, "model": final.model if final else None,
                          "finish_reason": final.finish_reason if final else None,
                          "usage": usage and {"prompt_tokens": usage.prompt_tokens,
                                              "completion_tokens": usage.completion_tokens,
                                              "total_tokens": usage.total_tokens}}, ensure_ascii=False))
    else:
        sys.stdout.write("\n")
    if final is not None and final.finish_reason == "length":
        limit = f"--max-tokens {args.max_tokens}" if args.max_tokens else "the model's length limit"
        fail(f"the answer was cut off by {limit} (finish_reason: length); raise --max-tokens or ask for less.")
    return 0
