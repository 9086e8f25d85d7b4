"""Production: every secret comes from the environment; there is no default to fall back on."""

from .base import *  # noqa: F403
from .base import MIGRATE_DATABASE, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")  # refuses to start without it
DATABASES = {"default": env.db("DATABASE_URL"), **MIGRATE_DATABASE}  # the app's role; base.py
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
SITE_URL = env("SITE_URL").rstrip("/")  # the links in emails
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
# Shared by every web process, so the public form's limits hold across them.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL"),
    }
}
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
# Every host under the portal's name is HTTPS only (check --deploy: security.W005). The preload
# token does nothing until the domain's owner submits the domain to browsers' list (W021).
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# Static files from gunicorn itself, compressed and cache-busted (collectstatic at build time),
# after the security and CSP middleware so every file carries their headers too (an SVG is a
# document a browser may open).
_AFTER_CSP = MIDDLEWARE.index("csp.middleware.CSPMiddleware") + 1  # noqa: F405
MIDDLEWARE = [
    *MIDDLEWARE[:_AFTER_CSP],  # noqa: F405
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[_AFTER_CSP:],  # noqa: F405
]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# SMTP from one URL (smtp+tls://user:password@host:587); no default.
vars().update(env.email_url("EMAIL_URL"))
# Webhooks go only over TLS, and only to the internet: a receiver URL resolving to loopback or a
# private network is refused when registered and before every attempt (webhooks/addresses.py).
WEBHOOKS_REQUIRE_HTTPS = True
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
