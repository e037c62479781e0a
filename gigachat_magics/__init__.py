"""IPython extension: `%load_ext gigachat_magics` registers `%%gigachat` and `%gigachat`.

Loading is cheap (neither httpx nor mcp is imported until the first question) and changes nothing else in the
shell. Auto-load with `c.InteractiveShellApp.extensions = ["gigachat_magics"]` in ipython_config.py.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: Any) -> None:
    from .magics import GigaChatMagics

    ipython.register_magics(GigaChatMagics)


def unload_ipython_extension(ipython: Any) -> None:
    manager = ipython.magics_manager
    instance = manager.registry.pop("GigaChatMagics", None)
    for kind, name in (("cell", "gigachat"), ("line", "gigachat")):
        manager.magics[kind].pop(name, None)
    if instance is not None:
        errors = getattr(instance, "errors", None)
        if errors is not None:
            errors.close()
        client = getattr(instance, "_client", None)
        if client is not None:
            client.close()
        if instance in ipython.configurables:
            ipython.configurables.remove(instance)
