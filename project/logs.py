import logging
import time


class UTCFormatter(logging.Formatter):
    """Log times in UTC with a Z, whatever the display time zone: logs from several machines line up."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"
