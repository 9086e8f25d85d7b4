"""A rate limit per client (its rate_limit_per_minute); DRF answers 429 with Retry-After."""

from rest_framework.throttling import SimpleRateThrottle

from .models import ApiKey


class ClientRateThrottle(SimpleRateThrottle):
    scope = "api_client"

    def get_rate(self) -> str:
        return "0/min"  # replaced per request in allow_request, from the client's own limit

    def allow_request(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True  # no client yet: authentication answers first
        self.num_requests = key.client.rate_limit_per_minute
        self.duration = 60
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.auth.client_id}
