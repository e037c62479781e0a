"""An offline GigaChat API on loopback, over plain HTTP or HTTPS with a throwaway CA.

    from gigachat_mcp.emulator import Emulator
    with Emulator() as emu:                        # HTTPS on 127.0.0.1, a fresh CA in a temp dir
        giga = GigaChat(**emu.client_settings())   # or: os.environ.update(emu.env())
        emu.add_fault("chat", status=429, headers={"Retry-After": "0.1"})

From the shell: `gigachat-mcp emulator [--tls] [--port N]` (or `python -m gigachat_mcp.emulator`) prints the
environment to point any client at it. Answers are deterministic and quote what the request contained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["DEFAULT_CREDENTIALS", "Emulator", "Fault", "RecordedRequest", "StreamRecord", "main"]

if TYPE_CHECKING:
    from ._emulator import DEFAULT_CREDENTIALS, Emulator
    from ._faults import Fault
    from ._records import RecordedRequest, StreamRecord

_WHERE = {"Emulator": "_emulator", "DEFAULT_CREDENTIALS": "_emulator", "Fault": "_faults",
          "RecordedRequest": "_records", "StreamRecord": "_records"}


def __getattr__(name: str) -> Any:
    """Load the server only when it is used, so `gigachat-mcp --help` and `serve` stay fast."""
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    from ._cli import main as cli_main

    return cli_main(argv)
