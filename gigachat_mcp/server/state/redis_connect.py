"""Redis URLs into clients, in one place so the shared link and the token cache connect the same way.

- `redis://[[USER]:PASSWORD@]HOST:PORT/DB` and `rediss://...` (TLS) as redis-py reads them; a private CA is
  given as `?ssl_ca_certs=/path/ca.pem` (and a client certificate as `ssl_certfile=`/`ssl_keyfile=`).
- `redis+sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB]`: the master of SERVICE is asked of the Sentinels on every new connection,
  so a fail-over is followed without a restart. The password is the data nodes'; Sentinels with a password of
  their own are not supported yet (refused with a clear error). The query takes the same options as `redis://`.
Redis Cluster is not supported: conversations are changed by scripts touching several keys, and changes reach
other replicas through pub/sub, which Cluster spreads over slots and nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

__all__ = ["RedisUrlError", "Target", "async_client", "parse_target", "startup_problem", "sync_client"]

SENTINEL_SCHEMES = {"redis+sentinel": "redis"}  # TLS through Sentinel: not yet (untested)
DIRECT_SCHEMES = ("redis", "rediss", "unix")


class RedisUrlError(ValueError):
    """The --redis URL cannot be used; the message names the rule and an example, never the password."""


@dataclass(frozen=True)
class Target:
    """Where Redis is: a URL for redis-py, or Sentinels and a service with the data nodes' connection options."""

    url: str  # redis:// or rediss:// (for Sentinel: the data nodes' options on a placeholder host)
    sentinels: list[tuple[str, int]] = field(default_factory=list)
    service: str = ""
    sentinel_options: dict[str, Any] = field(default_factory=dict)


def parse_target(url: str) -> Target:
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in DIRECT_SCHEMES:
        return Target(url)
    if scheme not in SENTINEL_SCHEMES:
        raise RedisUrlError("--redis must start with redis://, rediss:// (TLS) or redis+sentinel:// (a master found "
                            "through Sentinel), e.g. redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/mymaster/0. "
                            "Redis Cluster is not supported.")
    rest = url.split("://", 1)[1]
    netloc, _, path_query = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    path, _, query = path_query.partition("?")
    parts = [unquote(p) for p in path.split("/") if p]
    sentinels = [_host_port(item) for item in hosts.split(",") if item]
    if not sentinels or not parts or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise RedisUrlError("A redis+sentinel URL names the Sentinels and the service: redis+sentinel://"
                            "[:PASSWORD@]HOST:PORT[,HOST:PORT]/SERVICE[/DB], e.g. "
                            "redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/mymaster/0")
    options = dict(parse_qsl(query))
    if "sentinel_password" in options:
        raise RedisUrlError("Sentinels with a password of their own are not supported yet: run the Sentinels "
                            "without requirepass (keep them on a private network); the data nodes' password goes "
                            "in the URL as redis+sentinel://:PASSWORD@HOST:PORT/SERVICE/DB.")
    db = parts[1] if len(parts) == 2 else "0"
    data = SENTINEL_SCHEMES[scheme]
    data_url = f"{data}://{userinfo + '@' if userinfo else ''}sentinel-managed/{db}"
    if options:
        data_url += "?" + urlencode(options)
    return Target(data_url, sentinels, parts[0], {})


def _host_port(item: str) -> tuple[str, int]:
    host, _, port = item.rpartition(":")
    if not host or not port.isdigit():
        raise RedisUrlError(f"Each Sentinel is HOST:PORT (26379 is Sentinel's usual port), not {item!r}.")
    return host.strip("[]"), int(port)


def _options(target: Target) -> dict[str, Any]:
    """The data nodes' connection options from the URL (password, db, TLS files), for a Sentinel-managed pool."""
    from redis.connection import parse_url

    options = dict(parse_url(target.url))
    options.pop("host", None)
    options.pop("port", None)
    if options.pop("connection_class", None) is not None:
        options["ssl"] = True
    return options


def _sentinel_options(target: Target, options: dict[str, Any], timeouts: dict[str, Any]) -> dict[str, Any]:
    """The Sentinels are reached with the same TLS settings as the data nodes, and their own password if any."""
    tls = {k: v for k, v in options.items() if k.startswith("ssl")}
    return {**timeouts, **tls, **target.sentinel_options}


def async_client(target: Target, **pool: Any) -> Any:
    """An asyncio client whose pool waits for a free connection (a burst queues instead of failing)."""
    import redis.asyncio as aioredis

    if not target.sentinels:
        return aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(target.url, **pool))
    from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

    class BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
        """Sentinel's master discovery with the blocking pool's wait for a free connection."""

    options = _options(target)
    timeouts = {k: v for k, v in pool.items() if k.startswith("socket_")}
    sentinel = Sentinel(target.sentinels, sentinel_kwargs=_sentinel_options(target, options, timeouts))
    return sentinel.master_for(target.service, redis_class=aioredis.Redis, connection_pool_class=BlockingSentinelPool,
                               **{**options, **pool})


def sync_client(target: Target, **options: Any) -> Any:
    """A blocking client (for code that runs in worker threads), reaching the same master."""
    import redis

    if not target.sentinels:
        return redis.Redis.from_url(target.url, **options)
    from redis.sentinel import Sentinel

    data = _options(target)
    timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
    sentinel = Sentinel(target.sentinels, sentinel_kwargs=_sentinel_options(target, data, timeouts))
    return sentinel.master_for(target.service, **{**data, **options})


def startup_problem(url: str, shown: str) -> str | None:
    """One line when Redis refuses this server for good (a wrong password, an untrusted certificate); None when
    it answers, or is only unreachable for now (the server starts and /readyz says not ready until it is)."""
    from redis.exceptions import AuthenticationError, ConnectionError, ResponseError

    try:
        target = parse_target(url)
    except RedisUrlError as exc:
        return str(exc)
    client = sync_client(target, socket_timeout=3, socket_connect_timeout=2)
    try:
        client.ping()
    except AuthenticationError:
        if not _options(target).get("password"):
            return (f"Redis at {shown} needs a password: give it in the URL, redis://:PASSWORD@HOST:PORT/DB "
                    "(rediss:// for TLS).")
        return (f"Redis at {shown} refused the password (or user) in --redis: check the URL's password "
                "(redis://:PASSWORD@HOST:PORT/DB) against its requirepass or ACL.")
    except ResponseError:
        return None  # answered: whatever it is, the tools report it
    except ConnectionError as exc:
        if "certificate" in str(exc).lower() or "ssl" in type(exc.__cause__ or exc).__name__.lower():
            return (f"Redis at {shown} offered a TLS certificate this server does not trust: give its CA with "
                    "?ssl_ca_certs=/path/ca.pem in the rediss:// URL.")
        return None
    finally:
        client.close()
    return None
