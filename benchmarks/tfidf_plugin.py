"""The peer a blog owner would pick: what the Hexo/Gatsby/Astro "related posts" plugins
do, as a 30-line scikit-learn script. Front matter, the cleaned full text, TF-IDF on
character 2-4-grams, the top 4 by cosine, one JSON file.

    python benchmarks/tfidf_plugin.py POSTS_DIR OUT.json

`end_to_end.py` times it beside blogrec's cold build, pair by pair.
"""

import json
import re
import sys
from pathlib import Path

import frontmatter
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


def clean(markdown: str) -> str:
    text = re.sub(r"```.*?```|`[^`\n]*`", " ", markdown, flags=re.S)  # code
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = re.sub(r"<[^>]+>|https?://\S+", " ", text)  # HTML tags, bare URLs
    return re.sub(r"[#>*_~|-]+", " ", text)


def main(posts_dir: str, out: str) -> None:
    posts = []
    for path in sorted(Path(posts_dir).rglob("*.md")):
        try:
            post = frontmatter.load(path)
        except Exception:  # noqa: BLE001 - a plugin skips what it cannot read
            continue
        if post.get("title"):
            posts.append((path.stem, f"{post['title']}\n{clean(post.content)}"))
    tfidf = TfidfVectorizer(analyzer="char", ngram_range=(2, 4), sublinear_tf=True)
    x = tfidf.fit_transform(text.casefold() for _, text in posts)
    sim = (x @ x.T).toarray()
    np.fill_diagonal(sim, -1.0)
    top = np.argsort(-sim, axis=1, kind="stable")[:, :4]
    related = {slug: [posts[j][0] for j in row] for (slug, _), row in zip(posts, top, strict=True)}
    Path(out).write_text(json.dumps(related, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
