"""The HTTP deployment of the server: serving with health and a graceful drain, auth, telemetry, JSON logs."""
