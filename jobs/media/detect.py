"""What an upload really is, from its first bytes (magic numbers), never from the client's header."""

from dataclasses import dataclass

import filetype

# Enough for every signature `filetype` checks (it reads at most 8 KiB itself).
HEAD_BYTES = 8192

DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/rtf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/epub+zip",
        "application/postscript",
        "text/plain",
    }
)
# Image types that get variants; other image types (HEIC, PSD, DWG...) are stored as they are.
PROCESSABLE_IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff", "image/x-icon"}
)


@dataclass(frozen=True)
class Detected:
    content_type: str
    kind: str  # a MediaKind value
    extension: str


def detect(head: bytes) -> Detected:
    """Type and kind of a file from its first `HEAD_BYTES` bytes."""
    guess = filetype.guess(head) if head else None
    if guess is not None:
        mime = guess.mime
        if mime in PROCESSABLE_IMAGE_TYPES:
            return Detected(mime, "image", guess.extension)
        if mime.startswith("video/"):
            return Detected(mime, "video", guess.extension)
        if mime in DOCUMENT_TYPES:
            return Detected(mime, "document", guess.extension)
        return Detected(mime, "other", guess.extension)
    if head and _is_text(head):
        return Detected("text/plain", "document", "txt")
    return Detected("application/octet-stream", "other", "bin")


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a multi-byte character cut by the head
    return True
