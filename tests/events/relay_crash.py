"""Test helper process: a relay that dies between publishing and marking (``SIGKILL``).

``python -m tests.events.relay_crash DB_URL EVENTS_URL OPTIONS_JSON MARKER``: publishes the
pending outbox rows with the real publisher inside the relay's transaction, writes MARKER, and
sleeps until the test kills it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from persistence.database import Database
from tasks.relay import relay_pending
from workers.publisher import KombuEventPublisher


class DiesAfterPublishing:
    def __init__(self, inner: KombuEventPublisher, marker: Path) -> None:
        self.inner, self.marker = inner, marker

    def publish(self, events: Sequence[Mapping[str, Any]]) -> None:
        self.inner.publish(events)
        self.marker.write_text(json.dumps([e["id"] for e in events]))
        time.sleep(300)  # killed here: published, not yet marked


def main() -> None:
    db_url, events_url, options, marker = sys.argv[1:5]
    publisher = KombuEventPublisher(events_url, json.loads(options))
    relay_pending(Database(db_url, "x"), DiesAfterPublishing(publisher, Path(marker)))


if __name__ == "__main__":
    main()
