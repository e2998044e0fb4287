"""A generic HTTP gateway for SMS and push: POST the message as JSON to a configured URL.

The gateway answers 2xx with JSON carrying the provider's message id in `id` (or
`message_id`); anything else is a failed send. Settings: `OMNI_SMS_GATEWAY_URL`,
`OMNI_SMS_GATEWAY_TOKEN` (sent as a bearer token), and the same for PUSH.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.core.exceptions import ImproperlyConfigured

from campaigns import conf
from campaigns.backends import Outgoing, SendFailed


class HttpGatewayBackend:
    def __init__(self, *, channel: str) -> None:
        self.channel = channel
        prefix = f"OMNI_{channel.upper()}_GATEWAY"
        self.url = conf.get(f"{prefix}_URL")
        self.token = conf.get(f"{prefix}_TOKEN")
        if not self.url.startswith(("http://", "https://")):
            raise ImproperlyConfigured(f"{prefix}_URL must be an http(s) URL.")

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, message: Outgoing) -> str:
        if self.channel == "sms":
            payload = {"to": message.to, "text": message.text}
        else:
            payload = {
                "to": message.to,
                "title": message.title,
                "body": message.body,
                "deep_link": message.deep_link,
            }
        payload["reference"] = message.reference
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=conf.get("OMNI_GATEWAY_TIMEOUT_SECONDS")
            ) as response:
                body = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise SendFailed(f"gateway answered {error.code}") from error
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise SendFailed(f"gateway unreachable: {error}") from error
        message_id = str(body.get("id") or body.get("message_id") or "")
        if not message_id:
            raise SendFailed("gateway answered without a message id")
        return message_id
