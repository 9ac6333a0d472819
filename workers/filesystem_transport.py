"""kombu's ``filesystem://`` transport, with messages that are never read half-written.

kombu's own ``_put`` creates ``<ts>_<uuid>.<queue>.msg`` and then writes into it, while ``_get``
moves any ``*.msg`` away and reads it: a reader polling while a writer writes (a sender and a
worker, the relay and an events consumer) reads an empty or partial body, and the worker dies
with ``Unrecoverable error: JSONDecodeError``. Here a message is written under a name no reader
picks up (``....msg.part``) and renamed into place when complete (atomic on POSIX), and a reader
that still finds an empty file (a writer of plain kombu that has not written yet) waits for it.
Messages written within one millisecond keep their order too (kombu's names sort them at random).

``install()`` makes ``filesystem://`` mean this transport in the current process; gameworker
calls it before it makes any connection (``celeryconfig.build``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils import encoding, json

# kombu is only partly typed: its pieces are used as Any here.
_Channel: Any = filesystem.Channel
_Transport: Any = filesystem.Transport
_fs: Any = filesystem
_dumps: Any = json.dumps
_loads: Any = json.loads
_to_bytes: Any = encoding.str_to_bytes
_to_str: Any = encoding.bytes_to_str

PARTIAL = ".part"
EMPTY_WAIT = 2.0  # seconds a reader waits for a foreign writer to fill a file it took


class Channel(_Channel):  # type: ignore[misc]
    def _put(self, queue: Any, message: Any, **kwargs: Any) -> None:
        # kombu's name is "<ms>_<uuid>", read in name order; the microseconds after "_" keep
        # the order of messages written within one millisecond (one clock for all processes).
        ns = time.monotonic_ns()
        name = f"{ns // 1_000_000}_{ns % 1_000_000:06d}-{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL
        try:
            with open(partial, "wb") as f:
                f.write(_to_bytes(_dumps(message)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        wanted = f"{queue}.msg"
        processed = self.processed_folder if self.store_processed else tempfile.gettempdir()
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            try:
                shutil.move(os.path.join(self.data_folder_in, filename), processed)
            except OSError:  # another reader took it
                continue
            path = os.path.join(processed, filename)
            try:
                payload = _read_complete(path)
                if not self.store_processed:
                    os.remove(path)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {path!r} from queue.") from exc
            return _loads(_to_str(payload))
        raise Empty()


def _read_complete(path: str) -> bytes:
    """The file's bytes once its writer is done (it holds an exclusive lock while writing)."""
    deadline = time.monotonic() + EMPTY_WAIT
    while True:
        with open(path, "rb") as f:
            _fs.lock(f, _fs.LOCK_SH)
            try:
                payload = f.read()
            finally:
                _fs.unlock(f)
        if payload or time.monotonic() > deadline:
            return payload
        time.sleep(0.01)


class Transport(_Transport):  # type: ignore[misc]
    Channel = Channel


def install() -> None:
    TRANSPORT_ALIASES["filesystem"] = "workers.filesystem_transport:Transport"
