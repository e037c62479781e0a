"""What the command line says before any command runs: typed flag values, `--think [LEVEL]`, mistyped flags,
and the note for someone who starts the stdio server in a terminal.

Every message here is one line naming the flag as typed and the help to read, and the exit code is 2.
"""

from __future__ import annotations

import argparse
import sys

THINK_LEVELS = ("low", "medium", "high")
THINK_DEFAULT = "medium"
STDIO_NOTE = (
    "gigachat-mcp: this is an MCP server, now waiting for an MCP client on stdin/stdout (MCP hosts start it for "
    "you; Ctrl-C stops it).\n"
    "  To see it work: gigachat-mcp demo. Without a key: gigachat-mcp ask --emulator \"Привет!\", or have a host "
    "run gigachat-mcp --emulator. All commands: gigachat-mcp --help.\n"
)


def port(text: str) -> int:
    """--port: a TCP port, checked here so 99999 is one line, not an OverflowError from the socket layer."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, not {text}")
    return value


def positive_int(text: str) -> int:
    """--max-tokens and the like: refused here, so the message names the flag rather than a Python name."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, not {text}")
    return value


def with_think_levels(argv: list[str]) -> list[str]:
    """`--think` takes a level only when the next word is one: `ask --think "2+2?"` thinks at the default level
    and asks "2+2?", `ask --think high "2+2?"` thinks hard. argparse alone would take "2+2?" as the level."""
    out: list[str] = []
    words = iter(enumerate(argv))
    for index, word in words:
        if word == "--":
            out.extend(argv[index:])
            break
        if word != "--think":
            out.append(word)
            continue
        following = argv[index + 1] if index + 1 < len(argv) else None
        if following in THINK_LEVELS:
            next(words)
            out.append(f"--think={following}")
        else:
            out.append(f"--think={THINK_DEFAULT}")
    return out


def unrecognized(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """The one line for arguments the command does not take, with the nearest flag for a mistyped one.
    Flags are named first: the words after a mistyped flag are its value or the prompt, not the mistake."""
    flags = [word.split("=", 1)[0] for word in extras if word.startswith("-") and word != "-"]
    if not flags:
        return f"unexpected argument(s): {' '.join(extras)} (quote a prompt that has spaces)"
    import difflib

    known = [option for action in parser._actions for option in action.option_strings if option.startswith("--")]
    parts = []
    for flag in flags:
        match = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
        parts.append(f"{flag} (did you mean {match[0]}?)" if match else flag)
    return f"unrecognized option{'s' if len(parts) > 1 else ''}: {', '.join(parts)}"


def usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    print(f"{parser.prog}: {message} (see {parser.prog} --help)", file=sys.stderr)
    return 2


def note_stdio_in_a_terminal() -> None:
    """A person who runs bare `gigachat-mcp` sees a silent prompt; say what it is and what to try instead.
    stderr only: stdout is the protocol channel."""
    if sys.stdin is not None and sys.stdin.isatty():
        sys.stderr.write(STDIO_NOTE)
        sys.stderr.flush()
