"""Settings for the benchmarks: the project's own, pointed at a separate `omni_bench`
database on the same PostgreSQL server, so a bench run never touches dev data."""

from omni.settings import *  # noqa: F403
from omni.settings import DATABASES

BENCH_DATABASE = "omni_bench"

DATABASES["default"]["NAME"] = BENCH_DATABASE
# Web processes keep their connection, as a production deployment would.
DATABASES["default"]["CONN_MAX_AGE"] = 60
