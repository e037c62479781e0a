"""The `gigachat-mcp` command. With no arguments it serves MCP over stdio, which is what MCP hosts run.

Only argparse is imported up front; each command imports what it needs when it runs, so hosts that start the
server often pay for nothing else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

from ._version import __version__
from .commands._usage import note_stdio_in_a_terminal, port, positive_int, unrecognized, usage_error, with_think_levels

HOSTS = ("claude-desktop", "cursor", "vscode", "claude-code")
EPILOG = """\
first steps:
  gigachat-mcp demo                  see it work end to end (uses the built-in emulator without credentials)
  gigachat-mcp doctor                check credentials, scope, certificates and connectivity, with fixes
  gigachat-mcp config claude-desktop print the snippet that adds this server to an MCP host
  gigachat-mcp ask "Привет!"         one answer, streamed to the terminal
  gigachat-mcp map 'Tone of: {text}' reviews.csv -o tones.csv   one prompt over every row of a file

Configure with GIGACHAT_CREDENTIALS (your authorization key) and, for business keys, GIGACHAT_SCOPE.
"""
EXIT_CODES = ("exit codes: 0 ok, 1 GigaChat or network error, 2 usage (bad arguments, bad or missing GIGACHAT_* "
              "settings, a busy port), 130 interrupted")


class _Parser(argparse.ArgumentParser):
    """Bad arguments are one line (and exit 2), like every other failure; --help has the usage."""

    commands: Mapping[str, argparse.ArgumentParser] = {}  # the subcommands, set on the top-level parser

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> _Parser:
    parser = _Parser(
        prog="gigachat-mcp",
        description="GigaChat for MCP assistants, notebooks and the terminal.",
        epilog=EPILOG + "\n" + EXIT_CODES + "\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gigachat-mcp {__version__}")
    parser.add_argument("--emulator", action="store_true", dest="bare_emulator",
                        help="with no command: serve MCP answering from the built-in emulator (no key needed)")
    parser.set_defaults(transport="stdio", host="127.0.0.1", port=8000, emulator=False)  # `serve`'s, for no command
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.commands = commands.choices

    _add_serve(commands)
    _add_ask(commands)
    from .commands.map import add_parser as add_map

    add_map(commands)

    models = commands.add_parser("models", help="list the models your key can use",
                                 description="List the models GigaChat offers your key; the default is marked.",
                                 epilog=EXIT_CODES)
    models.add_argument("--json", action="store_true", help="print JSON (id, type, owned_by) for scripts")
    models.add_argument("--emulator", action="store_true", help="list the built-in emulator's models")

    from .emulator._cli import build_parser as emulator_parser

    emulator_parser(commands.add_parser("emulator", help="run the offline GigaChat emulator and print its env"))

    doctor = commands.add_parser("doctor", help="diagnose configuration, certificates and connectivity",
                                 description="Check each step from settings to a chat, and print the fix for any "
                                             "that fails. Secrets are never printed.")
    doctor.add_argument("--emulator", action="store_true", help="check against the built-in emulator")

    config = commands.add_parser("config", help="print the configuration snippet for an MCP host",
                                 description="Print what to paste into an MCP host's configuration.")
    config.add_argument("host", choices=HOSTS, help="which host")

    demo = commands.add_parser("demo", help="drive the MCP server with a real MCP client and stream its answer",
                               description="Start `gigachat-mcp` over stdio, connect an MCP client, and stream a "
                                           "chat answer's progress to the terminal. Without credentials (or with "
                                           "--emulator) it runs against the built-in emulator.")
    demo.add_argument("--emulator", action="store_true", help="use the emulator even if credentials are set")
    demo.add_argument("prompt", nargs="?", default="Расскажи коротко, что ты умеешь.", help="what to ask")
    from .commands.bundle import add_parser as add_bundle

    add_bundle(commands)
    return parser


def _add_serve(commands: Any) -> None:
    """`serve` and its team-server flags."""
    serve = commands.add_parser("serve", help="serve MCP (stdio by default; what hosts run)",
                                description="Serve the GigaChat MCP server.")
    serve.add_argument("--transport", choices=("stdio", "streamable-http"), default="stdio",
                       help="stdio for desktop hosts (default), streamable-http for remote clients")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    serve.add_argument("--port", type=port, default=8000, help="HTTP port (default 8000)")
    serve.add_argument("--emulator", action="store_true", help="answer from the built-in emulator, not GigaChat")
    serve.add_argument("--conversations-per-user", type=int, metavar="N",
                       help="conversations each user keeps, least recently used idle one dropped first (default 100, "
                            "or GIGACHAT_MCP_CONVERSATIONS_PER_USER)")
    team = serve.add_argument_group("team server (streamable-http)")
    team.add_argument("--redis", metavar="URL", help="keep conversations, subscriptions, tokens and stream slots in "
                                                     "Redis so replicas share them (or GIGACHAT_MCP_REDIS_URL)")
    team.add_argument("--redis-prefix", default="gigachat-mcp", help="key prefix, for deployments sharing a Redis")
    team.add_argument("--auth-tokens", metavar="FILE", help="static bearer tokens: 'principal: sha256hex' per line")
    team.add_argument("--oauth-issuer", metavar="URL", help="accept JWTs from this OAuth issuer (its JWKS)")
    team.add_argument("--public-url", metavar="URL", help="this server's URL as clients see it (JWT audience)")
    team.add_argument("--oauth-scope", action="append", metavar="SCOPE", help="scope tokens must carry (repeatable)")
    team.add_argument("--allowed-host", action="append", metavar="HOST",
                      help="public host name accepted in Host/Origin (repeatable; DNS-rebinding protection)")
    team.add_argument("--allowed-origin", action="append", metavar="ORIGIN",
                      help="browser page origin given CORS, e.g. http://localhost:8080 (repeatable; or "
                           "GIGACHAT_MCP_ALLOWED_ORIGINS, comma-separated)")
    team.add_argument("--insecure-no-auth", action="store_true",
                      help="allow serving beyond loopback without authentication (trusted networks only)")
    team.add_argument("--requests-per-minute", type=int, default=0, metavar="N", help="per user (0: no limit)")
    team.add_argument("--streams-per-user", type=int, default=0, metavar="N",
                      help="answers in flight per user (0: no limit)")
    team.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
                      help="on SIGTERM, how long answers in flight may finish (default 30)")
    team.add_argument("--lease-seconds", type=float, default=15.0, metavar="SECONDS",
                      help="how soon a dead replica's streams and answers are released (default 15)")
    team.add_argument("--log-format", choices=("text", "json"), default="text", help="stderr log format")


def _add_ask(commands: Any) -> None:
    """`ask` and its flags (the thinking, web and schema ones live with their output, in _ask_extras)."""
    ask = commands.add_parser("ask", help="ask once and stream the answer to the terminal",
                              description="Ask GigaChat once; the answer streams to stdout.", epilog=EXIT_CODES)
    ask.add_argument("prompt", nargs="?", help="the question; read from stdin when omitted or '-'")
    ask.add_argument("-m", "--model", help="model id, e.g. GigaChat-2-Max (default: GIGACHAT_MODEL or GigaChat-2)")
    ask.add_argument("-s", "--system", help="system prompt")
    ask.add_argument("-t", "--temperature", type=float, help="sampling temperature, e.g. 0.3")
    ask.add_argument("--max-tokens", type=positive_int, help="upper bound on answer length")
    ask.add_argument("--json", action="store_true", help="print one JSON object (text, model, usage) for scripts")
    ask.add_argument("-a", "--attach", action="append", metavar="FILE", default=[],
                     help="attach a file (image, document or audio); repeatable")
    ask.add_argument("--save-dir", default=".", metavar="DIR",
                     help="where to save images GigaChat draws (default: the current directory)")
    ask.add_argument("--no-images", action="store_true", help="do not let GigaChat draw")
    ask.add_argument("--emulator", action="store_true", help="answer from the built-in emulator, not GigaChat")
    from .commands._ask_extras import add_arguments as ask_extras_arguments

    ask_extras_arguments(ask)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # bad arguments exit 2 here, with one line from argparse, or from `unrecognized` for flags a command lacks
    args, extras = parser.parse_known_args(with_think_levels(sys.argv[1:] if argv is None else argv))
    if extras:
        return usage_error(parser.commands.get(args.command, parser), unrecognized(
            parser.commands.get(args.command, parser), extras))
    args.emulator = bool(args.emulator or args.bare_emulator)
    command = args.command or "serve"  # no command: serve stdio with the defaults above, what MCP hosts run
    if args.command is None:
        note_stdio_in_a_terminal()
    if command == "serve":
        from .commands.serve import run
    elif command == "ask":
        from .commands.ask import run
    elif command == "map":
        from .commands.map import run
    elif command == "models":
        from .commands.models import run
    elif command == "emulator":
        from .emulator._cli import run
    elif command == "doctor":
        from .commands.doctor import run
    elif command == "config":
        from .commands.hosts import run
    elif command == "bundle":
        from .commands.bundle import run
    else:
        from .commands.demo import run
    from .commands._signals import clean_up_on

    try:
        with clean_up_on("SIGTERM", "SIGHUP"):  # Ctrl-C stays KeyboardInterrupt, which every command handles
            return run(args)
    except KeyboardInterrupt:  # Ctrl-C before a command's own handling began, e.g. while an emulator starts
        print("gigachat-mcp: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from . import GigaChatError

        if not isinstance(exc, GigaChatError):
            raise
        from .commands._common import report

        return report(exc, getattr(args, "emulator", False))  # e.g. a bad GIGACHAT_* value: one line, exit 2


if __name__ == "__main__":
    sys.exit(main())
