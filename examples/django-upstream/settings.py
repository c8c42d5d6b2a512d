"""Settings for the minimal Django "orders" upstream (no database). Env: DJANGO_DEBUG, DJANGO_ALLOWED_HOSTS,
DJANGO_SECRET_KEY, RECORD_FILE (tests), RAMPART_* (see rampart_middleware.py)."""

import os

DEBUG = os.environ.get("DJANGO_DEBUG", "").lower() in ("1", "true", "yes")  # debug 500 pages: never in production
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-example-only-set-DJANGO_SECRET_KEY")
ROOT_URLCONF = "urls"
DATABASES = {}
INSTALLED_APPS = []
MIDDLEWARE = ["recorder.RecorderMiddleware", "rampart_middleware.RampartMiddleware"]
RAMPART_PUBLIC_PATHS = ["/api/health", "/api/boom", "/admin/"]  # everything else needs a valid assertion
USE_TZ = True
# DRF without django.contrib.auth: the Rampart middleware is the authentication.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
