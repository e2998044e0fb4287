"""Omni's own settings (database from DATABASE_URL) with the bench URLs: the bare
endpoint beside the real ones."""

from omni.settings import *  # noqa: F403

ROOT_URLCONF = "bench.web"
