"""Sentence embeddings: the encoders, the cache, and encoding in other processes."""

from .cache import CHECKPOINT_SECONDS, EmbeddingCache, embed_texts
from .encoders import (
    DEFAULT_FIELDS,
    ENCODERS,
    FIELDS,
    MAX_BODY_CHARS,
    Encoder,
    Progress,
    TFHubEncoder,
    USEMultilingual,
    document_text,
    get_encoder,
)
from .worker import EncodingProcess, encode_chunk

__all__ = [
    "CHECKPOINT_SECONDS", "DEFAULT_FIELDS", "ENCODERS", "FIELDS", "MAX_BODY_CHARS",
    "EmbeddingCache", "Encoder", "EncodingProcess", "Progress", "TFHubEncoder",
    "USEMultilingual", "document_text", "embed_texts", "encode_chunk", "get_encoder",
]
