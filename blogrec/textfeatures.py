"""Lexical text features: language detection, tokenisation, TF-IDF and LSI matrices.

Japanese has no spaces between words, so a post whose text is mostly Japanese is cut
into words by MeCab (fugashi + unidic-lite); other text is split on word characters.
The language is detected per post, never asked of the user.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse

_KANA = re.compile(r"[\u3040-\u30ff]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_](?:[\w'.+#-]*[^\W_+.'-]|[+#]{1,2})?")
# MeCab parts of speech that carry topic: nouns, verbs, adjectives (unidic names).
_CONTENT_POS = ("名詞", "動詞", "形容詞", "形状詞", "副詞")
_EN_STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into
    is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with you your yours
    yourself yourselves also would could may might us one get like use using used make
    new way well""".split()
)


def detect_language(text: str) -> str:
    """'ja' when kana make up a noticeable share of the letters, else 'en' (space-separated)."""
    sample = text[:4000]
    letters = sum(1 for c in sample if c.isalpha())
    if not letters:
        return "en"
    kana = len(_KANA.findall(sample))
    cjk = len(_CJK.findall(sample))
    return "ja" if kana >= 0.05 * letters or (kana and cjk >= 0.3 * letters) else "en"


@lru_cache(maxsize=1)
def _tagger():  # type: ignore[no-untyped-def]
    import fugashi

    return fugashi.Tagger()


def tokenize(text: str, lang: str | None = None) -> list[str]:
    """Lower-cased content words of a text; Japanese through MeCab."""
    text = unicodedata.normalize("NFKC", text)
    lang = lang or detect_language(text)
    if lang == "ja":
        out: list[str] = []
        for word in _tagger()(text):
            surface = word.surface.lower()
            if not surface or not any(c.isalnum() for c in surface):
                continue
            pos = word.feature.pos1 or ""
            if not pos.startswith(_CONTENT_POS):
                continue
            if len(surface) == 1 and not _CJK.match(surface):
                continue
            out.append(surface)
        return out
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text))
            if w not in _EN_STOP and len(w) > 1]


def tfidf_matrix(
    docs: Sequence[str], min_df: int = 1, max_df: float = 0.5, sublinear_tf: bool = True
) -> sparse.csr_matrix:
    """L2-normalised TF-IDF rows (scikit-learn), one per document."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(
        analyzer=tokenize,
        min_df=min_df,
        max_df=max_df if len(docs) > 20 else 1.0,
        sublinear_tf=sublinear_tf,
        dtype=np.float32,
    )
    try:
        return vec.fit_transform(docs).tocsr()
    except ValueError:  # every document empty after tokenisation
        return sparse.csr_matrix((len(docs), 1), dtype=np.float32)


def lsi_vectors(tfidf: sparse.csr_matrix, dims: int = 200, seed: int = 0) -> np.ndarray:
    """Latent semantic indexing: truncated SVD of TF-IDF, rows L2-normalised."""
    from sklearn.decomposition import TruncatedSVD

    from .encoders import normalize_rows

    n_comp = max(1, min(dims, min(tfidf.shape) - 1))
    svd = TruncatedSVD(n_components=n_comp, random_state=seed, algorithm="arpack")
    return normalize_rows(svd.fit_transform(tfidf))
