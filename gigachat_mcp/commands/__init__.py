"""The subcommands of `gigachat-mcp`, one module each, imported only when run."""
