"""Long actions run in the worker, with their progress on a page.

An app registers a kind of job once::

    register_job_kind("customers.import_csv", import_customers_job,
                      title="Import customers", scope="customers:write")

and starts one from a view with `start_job(kind=..., user=request.user, payload=text)`,
then sends the user to the job's page (`job_url(job)`), which polls until it is done.
The function receives the job and a `Progress` to report to; it returns a small dict
(the result shown on the page: `message`, optional `link` and `link_label`) or raises a
`DomainError`, whose plain-words message is shown. What the function writes is its own
affair: imports write all or nothing inside one transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.urls import reverse
from django.utils import timezone

from omni.auth import has_scope, roles_of
from omni.errors import DomainError, NotFound, RuleBroken
from omni.models import Job, Role

logger = logging.getLogger(__name__)


class UnknownJobKind(RuleBroken):
    code = "unknown_job_kind"
    status_code = 400
    message = "There is no such kind of job."


class JobNotAllowed(RuleBroken):
    code = "job_not_allowed"
    status_code = 403
    message = "Your role may not start this job."


@dataclass(frozen=True)
class JobKind:
    kind: str
    fn: Callable
    title: str
    scope: str | None
    # Offered as a button on the jobs page (it needs no input).
    startable: bool


_KINDS: dict[str, JobKind] = {}


def register_job_kind(
    kind: str, fn: Callable, *, title: str, scope: str | None = None, startable: bool = False
) -> None:
    _KINDS[kind] = JobKind(kind=kind, fn=fn, title=title, scope=scope, startable=startable)


def startable_kinds(user) -> list[JobKind]:
    return [
        spec
        for spec in sorted(_KINDS.values(), key=lambda spec: spec.title)
        if spec.startable and (spec.scope is None or has_scope(user, spec.scope))
    ]


def job_kind(kind: str) -> JobKind:
    try:
        return _KINDS[kind]
    except KeyError:
        raise UnknownJobKind(kind=kind) from None


class Progress:
    """Where a running job reports how far it got. Each report is one UPDATE committed at
    once, so the page sees it, even from inside the job's all-or-nothing transaction: there
    it goes through a connection of its own, outside that transaction."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._side = None
        # Transactions already open when the job started (a test's, say) are not the job's.
        self._outer_depth = len(transaction.get_connection().atomic_blocks)

    def __call__(self, done: int, total: int | None = None, note: str = "") -> None:
        fields = {"progress_done": done}
        if total is not None:
            fields["progress_total"] = total
        if note:
            fields["progress_note"] = note[:200]
        if len(transaction.get_connection().atomic_blocks) > self._outer_depth:
            self._update_aside(fields)
        else:
            Job.objects.filter(pk=self.job.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.job, name, value)

    def _update_aside(self, fields: dict) -> None:
        if self._side is None:
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)
        names = sorted(fields)
        assignments = ", ".join(f"{connection_ops_quote(name)} = %s" for name in names)
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Job._meta.db_table} SET {assignments} WHERE id = %s",  # noqa: S608 - column names are ours
                [*(fields[name] for name in names), self.job.pk],
            )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def connection_ops_quote(name: str) -> str:
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(name)


def start_job(
    *, kind: str, user=None, params: dict | None = None, payload: str = "", title: str = ""
) -> Job:
    """Queue a job for the worker, after the caller's transaction commits."""
    from omni.tasks import run_job_task

    spec = job_kind(kind)
    if user is not None and spec.scope and not has_scope(user, spec.scope):
        raise JobNotAllowed(kind=kind, scope=spec.scope)
    job = Job.objects.create(
        kind=kind,
        title=title or spec.title,
        params=params or {},
        payload=payload,
        created_by=user if getattr(user, "pk", None) else None,
    )
    transaction.on_commit(partial(run_job_task.delay, job_id=job.pk))
    return job


def run_job(*, job_id: int) -> Job | None:
    """Run a queued job once: a redelivered message finds it taken and does nothing (and a
    message for a job that no longer exists is dropped)."""
    claimed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
        state=Job.State.RUNNING, started_at=timezone.now()
    )
    job = Job.objects.filter(pk=job_id).first()
    if not claimed or job is None:
        return job
    progress = Progress(job)
    try:
        spec = job_kind(job.kind)
        result = spec.fn(job, progress) or {}
    except DomainError as refused:
        _finish(job, state=Job.State.FAILED, error=_error_shape(refused))
    except Exception as exc:  # noqa: BLE001 - a job must end, whatever went wrong
        logger.exception("Job %s (%s) crashed", job.pk, job.kind)
        _finish(
            job,
            state=Job.State.FAILED,
            error={
                "code": "internal_error",
                "message": "Something went wrong on our side; nothing was changed. "
                "Try again, or tell the administrator.",
                "details": {"exception": type(exc).__name__},
            },
        )
    else:
        # The last report, made final (it may have gone aside, unseen by this connection).
        fields = {"progress_note": job.progress_note}
        if job.progress_total is not None:
            fields.update(progress_done=job.progress_total, progress_total=job.progress_total)
        _finish(job, state=Job.State.SUCCEEDED, result=result, **fields)
    finally:
        progress.close()
    job.refresh_from_db()
    return job


def _finish(job: Job, *, state: str, **fields) -> None:
    Job.objects.filter(pk=job.pk, state=Job.State.RUNNING).update(
        state=state, finished_at=timezone.now(), **fields
    )


def _error_shape(error: DomainError) -> dict:
    details = json.loads(json.dumps(getattr(error, "details", {}) or {}, default=str))
    return {"code": error.code, "message": error.message, "details": details}


def visible_job(user, pk: int) -> Job:
    """A job its starter, or an administrator, may look at; others get 404."""
    job = Job.objects.filter(pk=pk).first()
    if job is None:
        raise NotFound("No such job.")
    if job.created_by_id != user.pk and Role.ADMINISTRATOR not in roles_of(user):
        raise NotFound("No such job.")
    return job


def job_url(job: Job) -> str:
    return reverse("admin:job", args=[job.pk])
