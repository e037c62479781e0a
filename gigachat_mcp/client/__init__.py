"""The shared core: settings, TLS, tokens, wire formats and the two clients. Imports neither mcp nor IPython.

Its public names are re-exported by `gigachat_mcp`; import them from there.
"""
