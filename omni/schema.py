"""OpenAPI descriptions for Omni's own authentication."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "omni.auth.ApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An Omni API token: `Authorization: Bearer omni_<id>_<secret>`.",
        }


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "insufficient_stock"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
        }
    },
}

_ERROR_DESCRIPTIONS = {
    "400": "Bad input (invalid_input, malformed_request, idempotency_key_required, ...)",
    "401": "Missing or invalid credentials",
    "403": "The credentials lack the scope this endpoint needs",
    "404": "Not found (a row named in the path or body, or a page past the end), or outside "
    "the caller's locations",
    "409": "Conflict with the current state (e.g. insufficient_stock, request in progress)",
    "412": "The resource changed since it was read (stale If-Match)",
    "422": "A business rule refused the request (e.g. idempotency_key_reused)",
    "429": "Rate limited; see Retry-After",
}
_WRITE_METHODS = {"post", "put", "patch", "delete"}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: every operation documents the one error shape for the statuses
    it can return, so clients can rely on it from the schema alone."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _WRITE_METHODS and method != "get":
                continue
            statuses = ["401", "403", "404", "429"]
            if method in _WRITE_METHODS:
                statuses += ["400", "409", "422"]
            if method in {"put", "patch"}:
                statuses.append("412")
            else:
                statuses.append("400")
            responses = operation.setdefault("responses", {})
            if any(
                parameter.get("name") == "If-None-Match" and parameter.get("in") == "header"
                for parameter in operation.get("parameters", [])
            ):
                responses.setdefault(
                    "304", {"description": "Not modified: the record still has that ETag"}
                )
            for status in statuses:
                responses.setdefault(
                    status, {"description": _ERROR_DESCRIPTIONS[status], "content": reference}
                )
            # Errors a view names itself (with only a description) share the same body.
            for status, response in responses.items():
                if status[0] in "45" and not response.get("content"):
                    response["content"] = reference
    return result


class OmniAutoSchema(AutoSchema):
    def _conditional_parameters(self, named: set) -> list:
        """`ETag` / `If-Match` / `If-None-Match` on views of records with optimistic
        concurrency (`omni.concurrency.ConditionalUpdateMixin`)."""
        from omni import concurrency

        if not isinstance(self.view, concurrency.ConditionalUpdateMixin) or "ETag" in named:
            return []
        request = type("Probe", (), {"method": self.method.upper()})()
        if self.view._is_record_read(request):
            return [concurrency.ETAG_RESPONSE_HEADER, concurrency.IF_NONE_MATCH_HEADER]
        if self.view._writes_record(request):
            return [concurrency.ETAG_RESPONSE_HEADER, concurrency.IF_MATCH_HEADER]
        return []

    """Documents the `Idempotency-Key` header on every write decorated with
    `omni.idempotency.idempotent`, required or optional as the decorator says."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        name = getattr(self.view, "action", None) or self.method.lower()
        # A subclass may override the handler and call the decorated one with super().
        handlers = (vars(klass).get(name) for klass in type(self.view).__mro__)
        flags = (getattr(handler, "idempotency_required", None) for handler in handlers)
        required = next((flag for flag in flags if flag is not None), None)
        named = {getattr(p, "name", None) for p in parameters}
        parameters = [*parameters, *self._conditional_parameters(named)]
        if required is None or "Idempotency-Key" in named:
            return parameters
        return [
            *parameters,
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=required,
                type=str,
                description="Any unique string per write; a replay returns the first "
                "response with `Idempotent-Replayed: true` and writes nothing.",
            ),
        ]
