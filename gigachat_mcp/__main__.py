"""`python -m gigachat_mcp`: the same as the `gigachat-mcp` command."""

import sys

from .cli import main

sys.exit(main())
