"""The server's shared state behind small interfaces, and what a team deployment adds (Redis, auth, operations).

`state.open_state()` picks the implementations once at start-up: in memory (stdio, one HTTP process) or Redis
(`--redis URL`). Nothing else in the server knows which one runs. Redis is imported only when configured.
"""
