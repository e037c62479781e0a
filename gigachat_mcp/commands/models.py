"""`gigachat-mcp models`: the models GigaChat offers this key, so a wrong `-m` can be fixed from the shell."""

from __future__ import annotations

import argparse
import json

from .. import GigaChat
from ._common import require_credentials, settings_for


def run(args: argparse.Namespace) -> int:
    with settings_for(args.emulator) as settings:
        require_credentials(settings, "models")
        with GigaChat(settings) as giga:
            models = giga.models()
    if args.json:
        print(json.dumps([{"id": m.id, "type": m.type, "owned_by": m.owned_by} for m in models], ensure_ascii=False))
        return 0
    for model in models:
        print(f"{model.id:<28} {model.type}{'  (default)' if model.id == settings.model else ''}")
    return 0
