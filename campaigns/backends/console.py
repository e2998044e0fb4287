"""Development backends for SMS and push: print the message, or append it to a file."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from dataclasses import asdict
from pathlib import Path

from django.conf import settings

from campaigns import conf
from campaigns.backends import Outgoing

_file_lock = threading.Lock()


def _payload(message: Outgoing, message_id: str) -> dict:
    fields = asdict(message)
    keep = ("channel", "to", "reference", "text", "title", "body", "deep_link")
    return {"id": message_id, **{name: fields[name] for name in keep if fields[name]}}


class ConsoleBackend:
    def __init__(self, *, channel: str) -> None:
        self.channel = channel

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, message: Outgoing) -> str:
        message_id = f"console-{uuid.uuid4()}"
        sys.stdout.write(json.dumps(_payload(message, message_id), ensure_ascii=False) + "\n")
        return message_id


class FileBackend(ConsoleBackend):
    """One JSON line per message in `OMNI_OUTBOX_DIR/<channel>.jsonl`."""

    def path(self) -> Path:
        directory = Path(conf.get("OMNI_OUTBOX_DIR"))
        if not directory.is_absolute():
            directory = Path(settings.BASE_DIR) / directory
        return directory / f"{self.channel}.jsonl"

    def send(self, message: Outgoing) -> str:
        message_id = f"file-{uuid.uuid4()}"
        path = self.path()
        line = json.dumps(_payload(message, message_id), ensure_ascii=False) + "\n"
        with _file_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        return message_id
