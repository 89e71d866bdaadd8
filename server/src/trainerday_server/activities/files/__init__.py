"""Activity files (FIT, TCX, GPX, gzipped or not) → Recording, and Recording → FIT. Pure: no HTTP, no DB."""

from .detect import DEFAULT_MAX_BYTES, DecodedUpload, decode_activity, decode_upload, read_upload
from .fitencode import encode_fit

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DecodedUpload",
    "decode_activity",
    "decode_upload",
    "encode_fit",
    "read_upload",
]
