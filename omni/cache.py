"""The shared cache: Django's Redis backend, keeping one client per connection pool.

Django's backend builds a new `redis.Redis` on every cache call, and building one copies
the library's table of response callbacks (about 0.2 ms each time); a hot request makes
several cache calls (its token, the rate limit, locations), so the clients are kept."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def raw_client(self):
        """The redis-py client of the (first) server, for commands the cache API lacks."""
        return self._cache.get_client(write=True)
