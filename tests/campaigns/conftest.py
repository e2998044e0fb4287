import pytest

from tests.campaigns.policy import StatedPolicy


@pytest.fixture(autouse=True)
def stated_policy(settings, tmp_path):
    """Every campaigns test states consent and preferences through StatedPolicy, and SMS
    and push land in files under a temporary outbox."""
    settings.OMNI_AUDIENCE_POLICY = "tests.campaigns.policy.StatedPolicy"
    settings.OMNI_SMS_BACKEND = "campaigns.backends.console.FileBackend"
    settings.OMNI_PUSH_BACKEND = "campaigns.backends.console.FileBackend"
    settings.OMNI_OUTBOX_DIR = str(tmp_path / "outbox")
    settings.OMNI_PUBLIC_URL = "https://omni.example.com"
    StatedPolicy.reset()
    yield StatedPolicy
    StatedPolicy.reset()


@pytest.fixture
def outbox(settings):
    """Lines written by the file backend, per channel."""
    import json
    from pathlib import Path

    def read(channel: str) -> list[dict]:
        path = Path(settings.OMNI_OUTBOX_DIR) / f"{channel}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    return read
