"""Response headers Django does not set itself, and secrets kept out of the logs."""

from __future__ import annotations

import logging
import re

from django.conf import settings

# An API token (`omni_<key id>_<secret>`) or a bearer header, wherever it appears in a
# log line: the key id stays (it names the token), the secret goes.
_TOKEN = re.compile(r"(omni_[0-9a-f]{12})_[A-Za-z0-9_\-]{8,}")
_CREDENTIAL_FIELD = re.compile(
    r"""(?i)(["']?(?:password|secret|pickup_code|authorization)["']?\s*[:=]\s*)(["']?)[^\s,&'"}]+"""
)


class SecurityHeadersMiddleware:
    """`Permissions-Policy`: the back office needs no camera, microphone or location."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "OMNI_PERMISSIONS_POLICY", "")
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response


class RedactSecretsFilter(logging.Filter):
    """Masks API token secrets and password-like fields in every log line a handler
    writes, whoever logged it (our code, Django, a library)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _CREDENTIAL_FIELD.sub(r"\1\2***", _TOKEN.sub(r"\1_***", message))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
