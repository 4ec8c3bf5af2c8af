"""romcam's exception tree. The CLI turns each into a one-line message and its exit code.

Every message says what went wrong and what to do about it.
"""

from __future__ import annotations


class RomcamError(Exception):
    """Base of every error romcam raises on purpose."""

    exit_code = 1


class UsageError(RomcamError):
    """A command was called with arguments that cannot work."""

    exit_code = 2


class UnknownExerciseError(RomcamError):
    exit_code = 3


class SourceNotFoundError(RomcamError):
    """The video file does not exist."""

    exit_code = 4


class NotAVideoError(RomcamError):
    """The file exists but OpenCV cannot decode it as video."""

    exit_code = 5


class CorruptVideoError(RomcamError):
    """The video broke part-way; what was measured before the break is kept."""

    exit_code = 6


class NoPersonError(RomcamError):
    """No person was found in any frame."""

    exit_code = 7


class CameraError(RomcamError):
    """A camera (index or stream URL) could not be opened, or stopped delivering frames."""

    exit_code = 8


class ModelError(RomcamError):
    """The pose model file is missing or unreadable."""

    exit_code = 9


class CatalogError(RomcamError):
    """The exercise catalog data file is malformed."""

    exit_code = 10


class InsecureBindError(RomcamError):
    """``romcam serve`` was asked to listen beyond loopback without clinic auth and a secret key of its own."""

    exit_code = 11


class LinkNotCheckedError(RomcamError):
    """``romcam link`` saved the link, but the clinic did not answer (offline, wrong address, not HTTPS)."""

    exit_code = 12


class LinkRefusedError(RomcamError):
    """``romcam link`` saved the link, but the clinic answered and refused its device token."""

    exit_code = 13
