"""The API's own operations."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .permissions import ANY_KEY
from .serializers import WhoAmISerializer


class WhoAmIView(APIView):
    """Which client and key this is, what it may do, and when the key expires."""

    required_scopes = {"GET": ANY_KEY}

    @extend_schema(responses=WhoAmISerializer, operation_id="whoami")
    def get(self, request):
        key = request.auth
        return Response(
            WhoAmISerializer(
                {
                    "client": key.client.name,
                    "scopes": key.client.scopes,
                    "key_prefix": key.prefix,
                    "key_expires_at": key.expires_at,
                    "rate_limit_per_minute": key.client.rate_limit_per_minute,
                }
            ).data
        )
