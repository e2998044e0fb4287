"""Response headers Django does not set itself."""

from __future__ import annotations

from django.conf import settings


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
