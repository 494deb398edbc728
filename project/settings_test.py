"""Settings for the test suite: the real settings with a throwaway key."""

import os

os.environ.setdefault("SECRET_KEY", "piquet-tests-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG")
os.environ.setdefault("EMAIL_URL", "consolemail://")
# The tests' receivers listen on 127.0.0.1.
os.environ.setdefault("PIQUET_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8")

from project.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# A file-backed test database (not in memory), so that the worker, gunicorn or
# another process started by a test sees the same data.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-piquet-{os.getpid()}.sqlite3")}  # noqa: F405

# Each test process (each xdist worker too) gets its own task queue, so parallel
# runs sharing one Redis never run each other's tasks. Not through the
# environment: xdist workers would inherit their parent's name.
Q_CLUSTER = {**Q_CLUSTER, "name": f"piquet-test-{os.getpid()}"}  # noqa: F405
