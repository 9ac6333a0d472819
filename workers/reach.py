"""Is the broker or the database there? An unreachable one becomes a sentence, not a traceback.

The CLI raises ``Unreachable`` for what it cannot reach; ``gameworker`` prints it with the URL
(password hidden) and what to do, and exits 2.
"""

from __future__ import annotations

from typing import Any

from kombu.utils.url import maybe_sanitize_url

HINTS = {
    "broker": "Check GAMEWORKER_BROKER_URL and that the broker is running "
    "(unset it to use the embedded filesystem:// broker).",
    "events broker": "Check GAMEWORKER_EVENTS_URL (or GAMEWORKER_BROKER_URL, its default) and "
    "that the broker is running.",
    "result backend": "Check GAMEWORKER_RESULT_BACKEND and that the server is running.",
    "database": "Check GAMEWORKER_DATABASE_URL and that the server is running.",
}


class Unreachable(Exception):
    """A server the command needs cannot be reached."""

    def __init__(self, what: str, url: str, reason: object, hint: str | None = None) -> None:
        self.what = what
        self.url = safe_url(url)
        self.reason = str(reason).strip() or type(reason).__name__
        self.hint = hint or HINTS.get(what, "")
        super().__init__(f"cannot reach the {what} at {self.url}: {self.reason}\n{self.hint}")


def safe_url(url: str) -> str:
    """The URL with its password masked."""
    try:
        return str(maybe_sanitize_url(url))
    except Exception:  # an unparsable URL is shown as it is, minus anything after '@'
        return url.split("@")[-1]


def check_broker(connection: Any, what: str = "broker", timeout: float = 5.0) -> None:
    """Connect once (a kombu ``Connection``); ``Unreachable`` when that fails."""
    try:
        connection.ensure_connection(max_retries=1, interval_start=0.2, timeout=timeout)
    except Exception as exc:
        raise Unreachable(what, _uri(connection), _reason(exc)) from None


def _uri(connection: Any) -> str:
    """The connection's URL as configured: ``redis://``, not the class path of its transport."""
    uri = str(connection.as_uri(include_password=True))
    name = str(connection.transport_cls)
    if ":" in name and uri.startswith(f"{name}://"):  # a transport given as "module:Class"
        scheme = "rediss" if connection.ssl else str(connection.transport.driver_type)
        uri = scheme + uri[len(name) :]
    return uri


def check_settings_broker(settings: Any) -> None:
    """The Celery broker of these settings answers (with its transport options)."""
    from kombu import Connection  # type: ignore[attr-defined]

    import celeryconfig

    options = celeryconfig.build(settings)["broker_transport_options"]
    conn: Any = Connection(settings.broker, transport_options=options, connect_timeout=5)  # type: ignore[no-untyped-call]
    try:
        check_broker(conn)
    finally:
        conn.release()


def check_database(url: str) -> None:
    """Open one connection to the database; ``Unreachable`` when that fails."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from persistence.engine import make_engine

    engine = make_engine(url, pool_size=1)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise Unreachable("database", shown, _reason(reason)) from None
    finally:
        engine.dispose()


def _reason(exc: BaseException) -> str:
    """The innermost readable cause of a connection error."""
    seen = exc
    while True:
        nxt = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
        # a LookupError deeper down is a driver's own bookkeeping (redis-py's pool raises
        # "pop from empty list" before it connects), not why the connection failed
        if nxt is None or isinstance(nxt, LookupError):
            break
        seen = nxt
    text = str(seen).strip() or str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
