"""The drivers a deployment chooses: each database driver and broker client is an extra of the
`sunap` package (docs/dependencies.md, "Extras: one driver per backend"), so the embedded default installs none of
them. A configured backend whose extra is missing refuses to start and names the extra to install,
instead of failing later with a bare ImportError."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class Driver:
    module: str  # what the adapter imports
    distribution: str  # what pip installs
    extra: str  # sunap[extra] brings it


ASYNCPG = Driver("asyncpg", "asyncpg", "postgresql")
AIOMYSQL = Driver("aiomysql", "aiomysql", "mariadb")
AIOKAFKA = Driver("aiokafka", "aiokafka", "kafka")
AIO_PIKA = Driver("aio_pika", "aio-pika", "rabbitmq")
NATS_PY = Driver("nats", "nats-py", "nats")
REDIS_PY = Driver("redis", "redis", "redis")


class MissingDriver(Exception):
    """A configured database or broker needs a package that is not installed."""


def require(driver: Driver, *, needed_by: str) -> None:
    """Import `driver` now; `needed_by` says which setting asked for it (it is in the message)."""
    try:
        import_module(driver.module)
    except ModuleNotFoundError as missing:
        raise MissingDriver(
            f"{needed_by} needs the {driver.distribution} package, which is not installed "
            f"({missing}): install the {driver.extra!r} extra, "
            f"e.g. pip install 'sunap[{driver.extra}]'"
        ) from None
