"""warnlink: open, real-time missile-warning data sharing for allied nations."""

__version__ = "0.1.0"
