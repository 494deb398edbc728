"""Settings for the test suite: the real settings with a throwaway key."""

import os

os.environ.setdefault("SECRET_KEY", "piquet-test-key")
os.environ.setdefault("EMAIL_URL", "consolemail://")

from project.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
