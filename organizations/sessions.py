"""Sessions kept in the database, with a copy in the shared Redis that every signed-in page
reads first (SESSION_ENGINE): a page costs a Redis read instead of a database query.

The database stays the record: a session is written there first, then copied; a copy expires
with its session or after COPY_SECONDS, whichever comes first. Without the shared Redis (the
embedded default), or while it is down (organizations.ratelimit marks it down for a while after
a failure, so an outage costs one timeout), sessions are read from the database alone. One
edge is left: a session deleted (logged out) while Redis does not answer keeps its copy until
the copy expires, so a stolen cookie of it could be used for at most COPY_SECONDS after Redis
answers again; a password change still ends it at once (Django checks the session's password
hash on every request).
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseStore

from organizations.ratelimit import shared_redis_call

COPY_SECONDS = 3600
KEY_PREFIX = "cem:session:"


class SessionStore(DatabaseStore):
    def load(self) -> dict:
        key = self.session_key
        if key:
            copied = shared_redis_call(lambda client: client.get(KEY_PREFIX + key))
            if copied is not None:
                return self.serializer().loads(copied)
        session = self._get_session_from_db()
        if session is None:
            return {}
        data = self.decode(session.session_data)
        self._copy(data, self.get_expiry_age(expiry=session.expire_date))
        return data

    def save(self, must_create: bool = False) -> None:
        super().save(must_create)
        self._copy(self._get_session(no_load=must_create), self.get_expiry_age())

    def delete(self, session_key: str | None = None) -> None:
        super().delete(session_key)
        key = session_key or self.session_key
        if key:
            shared_redis_call(lambda client: client.delete(KEY_PREFIX + key))

    def _copy(self, data: dict, expiry_age: int) -> None:
        key, seconds = self.session_key, min(expiry_age, COPY_SECONDS)
        if key and seconds > 0:
            payload = self.serializer().dumps(data)
            shared_redis_call(lambda client: client.set(KEY_PREFIX + key, payload, ex=seconds))
