"""Settings for benchmarks/ingest.py: Piquet's own settings plus one bare-insert view.

The bare view (benchmarks/_bench_urls.py) is the reference ceiling: what Django
and the database do on this machine when a request only inserts one row.
"""

from project.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks._bench_urls"
