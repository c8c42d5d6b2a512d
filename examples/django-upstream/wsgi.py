"""Run: gunicorn -w 1 -b 127.0.0.1:8000 wsgi:application (from this directory, or with --chdir)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
application = get_wsgi_application()
