"""DRF authentication by tenant API key: `Authorization: Bearer mono_<id>_<secret>`."""

from rest_framework import authentication, exceptions

from tenants.services import api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, raw_key = header.partition(" ")
        if scheme != self.keyword:
            return None
        api_key = api_key_authenticate(raw_key=raw_key.strip())
        if api_key is None or not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return api_key.user, api_key

    def authenticate_header(self, request) -> str:
        return self.keyword
