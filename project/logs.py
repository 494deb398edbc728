import logging
import re
import time

# Integration keys (32 hex characters) and DRF tokens (40): whatever line they turn up in, they are masked.
_KEY = re.compile(r"\b([0-9a-f]{4})[0-9a-f]{28}(?:[0-9a-f]{8})?\b")


def mask_keys(text):
    return _KEY.sub(r"\1…", text)


class UTCFormatter(logging.Formatter):
    """Log times in UTC with a Z, whatever the display time zone: logs from several machines line up.

    Keys never reach a log: a request path such as /api/v1/integrations/<key>/alertmanager/ is logged masked.
    """

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def format(self, record):
        return mask_keys(super().format(record))
