"""Rasa's own `RedisLockStore`, for several Rasa servers (`make cluster`), with waiting
tickets that outlive a dead server's (stores/tickets.py).

endpoints.yml: `lock_store: {type: stores.redis_lock_store.ClinicRedisLockStore, url: host,
port: ..., password: ..., db: ...}`, the keys of Rasa's `type: redis`.
"""

from __future__ import annotations

from rasa.core.lock_store import RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from stores.tickets import OutlivingTickets


class ClinicRedisLockStore(OutlivingTickets, RedisLockStore):
    """Ticket locks in Redis, shared by every Rasa server."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        """Connect as Rasa's `type: redis` would (`url` is the host)."""
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)
