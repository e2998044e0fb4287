"""`make run`: prepare the database, then serve web, worker and beat until Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

from omni import embedded, services
from omni.models import Role


class Command(BaseCommand):
    help = "Migrate, seed demo data once, then run the web app, a Celery worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("OMNI_BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args, bind: str, web_workers: int, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("ensure_schedules", verbosity=0)
        call_command("seed_demo")
        username, password = self._staff_login()
        connections.close_all()

        env = os.environ.copy()
        env.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
        # Children inherit the resolved servers, embedded or not.
        env.setdefault("CELERY_BROKER_URL", settings.CELERY_BROKER_URL)
        env.setdefault("REDIS_URL", settings.REDIS_URL)
        python = sys.executable
        bindir = Path(python).parent
        commands = {
            "web": [
                str(bindir / "gunicorn"),
                "omni.wsgi",
                "--bind",
                bind,
                "--workers",
                str(web_workers),
                "--access-logfile",
                "-",
            ],
            "worker": [
                str(bindir / "celery"),
                "-A",
                "omni",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ],
            "beat": [
                str(bindir / "celery"),
                "-A",
                "omni",
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "omni.beat:SingleBeatScheduler",
            ],
        }
        children = {
            name: subprocess.Popen(command, env=env)  # noqa: S603 - our own binaries
            for name, command in commands.items()
        }
        self.stdout.write(
            self.style.SUCCESS(
                f"\nOmni is running at http://{bind}/admin/  (API docs: http://{bind}/api/docs/)\n"
                f"Staff login: {username} / {password}\n"
                "Demo staff: ana (associate), rui (manager), lena (planner), marta (marketer)\n"
                "Press Ctrl-C to stop web, worker, beat and the embedded servers.\n"
            )
        )

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with {child.returncode}; stopping.")
                        stopping = True
                time.sleep(0.5)
        finally:
            self._stop(children)

    def _staff_login(self) -> tuple[str, str]:
        """An administrator login; its password is kept in .omni/ so it survives restarts."""
        username = os.environ.get("OMNI_ADMIN_USER", "admin")
        password_file = embedded.STATE_DIR / "admin-password"
        password = os.environ.get("OMNI_ADMIN_PASSWORD") or (
            password_file.read_text().strip() if password_file.exists() else ""
        )
        if not password:
            password = secrets.token_urlsafe(12)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        services.grant_staff_access(user=user, role=Role.ADMINISTRATOR)
        return username, password

    def _stop(self, children: dict) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time; killing it.")
                child.kill()
        if not os.environ.get("DATABASE_URL") or not os.environ.get("CELERY_BROKER_URL"):
            embedded.stop_all()
        self.stdout.write("Stopped.")
