"""The `blogrec` command end to end on the sample blog, and its failure policy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import frontmatter
import pytest
from click.testing import CliRunner

from blogrec.build import (
    BuildConfig,
    BuildError,
    embed,
    embed_posts,
    make_features,
    read_blog,
    run_build,
)
from blogrec.build.runtime import LOCK_NAME
from blogrec.build.state import input_fingerprint
from blogrec.cli import main
from blogrec.store import OutputBatch, atomic_write_json

from .conftest import SAMPLE_BLOG, post


@pytest.fixture(scope="module")
def cache_dir(sample_site):
    """The sample build's cache: its embeddings and saved tag model, warm."""
    return str(sample_site.cache)


def run(*args: str):
    result = CliRunner().invoke(main, ["-q", *args], catch_exceptions=False)
    return result


def build(tmp_path, cache_dir, posts=SAMPLE_BLOG, *extra):
    out, rep = tmp_path / "site", tmp_path / "reports"
    result = run("build", str(posts), "--out", str(out), "--reports", str(rep),
                 "--cache-dir", cache_dir, *extra)
    return result, out, rep


@pytest.fixture(scope="module")
def sample_build(sample_site):
    """The sample blog's shared build: (site data, reports)."""
    return sample_site.out, sample_site.reports


def test_build_writes_related_json_for_every_post(sample_build):
    out, rep = sample_build
    data = json.loads((out / "related.json").read_text(encoding="utf-8"))
    assert data["schema"] == "blogrec/related" and data["version"] == 1
    assert data["count"] == len(data["posts"]) == 65
    for slug, entry in data["posts"].items():
        assert entry["slug"] == slug and entry["title"] and entry["date"]
        related = entry["related"]
        assert len(related) == 4
        assert slug not in {r["slug"] for r in related}
        assert len({r["slug"] for r in related}) == 4
        assert all(set(r) >= {"slug", "title", "date", "score", "path"} for r in related)
        scores = [r["score"] for r in related]
        assert scores == sorted(scores, reverse=True)
    report = json.loads((rep / "build-report.json").read_text(encoding="utf-8"))
    assert report["posts"] == 65 and report["rejected"] == []
    assert [s["path"] for s in report["skipped"]] == ["2025-02-26-python-project-with-uv.md"]


def test_same_input_gives_the_same_bytes_cold_or_warm(tmp_path, cache_dir):
    _, out1, rep1 = build(tmp_path / "a", cache_dir)
    _, out2, rep2 = build(tmp_path / "b", cache_dir)
    assert (out1 / "related.json").read_bytes() == (out2 / "related.json").read_bytes()
    assert (rep1 / "build-report.json").read_bytes() == (rep2 / "build-report.json").read_bytes()


def test_a_cold_build_encodes_in_a_child_process_with_the_bytes_of_one_process(tmp_path):
    """With a cache, the cache misses are encoded in a child process while the build
    tokenises; without one, in the build's own process. Same bytes either way."""
    _, out1, rep1 = build(tmp_path / "a", str(tmp_path / "cache"))
    _, out2, rep2 = build(tmp_path / "b", str(tmp_path / "cache"), SAMPLE_BLOG, "--no-cache")
    steps = [json.loads((rep / "timings.json").read_text())["steps"] for rep in (rep1, rep2)]
    assert "lexical" in steps[0] and "lexical" not in steps[1]  # the child ran, then not
    for name in ("related.json", "tags.json", "clusters.json", "vectors.json"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name
    report = json.loads((rep1 / "build-report.json").read_text(encoding="utf-8"))
    assert report["posts"] == 65


def test_embedding_in_two_processes_writes_the_cache_of_one(tmp_path):
    """The Prefect flow's embed task: the misses split between a child and the task's
    own process; the cache file is byte for byte that of encoding in one process."""
    files = {}
    for name, embed_step in (("one", embed), ("two", embed_posts)):
        config = BuildConfig(posts_dir=str(SAMPLE_BLOG), cache_dir=str(tmp_path / name))
        features = make_features(read_blog(config), config)
        embed_step(features, config)
        assert features.encoded == 65
        files[name] = {f.name: f.read_bytes() for f in (tmp_path / name).glob("*.emb")}
    assert files["one"] == files["two"] and files["one"]


def test_related_posts_make_sense_on_the_sample_blog(sample_build):
    out, _ = sample_build
    data = json.loads((out / "related.json").read_text(encoding="utf-8"))["posts"]
    tags = {slug: {t.lower() for t in e["tags"]} for slug, e in data.items()}
    shared = [bool(tags[s] & tags[r["slug"]]) for s, e in data.items() for r in e["related"][:1]]
    # the nearest post shares a tag for most posts (random would be far lower)
    assert sum(shared) / len(shared) > 0.5


def test_bad_files_are_reported_and_the_build_goes_on(tmp_path, cache_dir, write_posts):
    root = write_posts({
        "a.md": post("Python testing with pytest"),
        "b.md": post("Python fixtures"),
        "broken.md": "---\ntitle: [oops\n---\n",
        "nofm.md": "no front matter here\n",
    })
    result, out, rep = build(tmp_path, cache_dir, root)
    assert result.exit_code == 0
    assert "broken.md" in result.output and "malformed YAML" in result.output
    report = json.loads((rep / "build-report.json").read_text(encoding="utf-8"))
    assert {r["path"] for r in report["rejected"]} == {"broken.md", "nofm.md"}
    assert set(json.loads((out / "related.json").read_text())["posts"]) == {"a", "b"}


def test_strict_fails_when_any_file_is_rejected(tmp_path, cache_dir, write_posts):
    root = write_posts({"a.md": post(), "b.md": ""})
    result, out, _ = build(tmp_path, cache_dir, root, "--strict")
    assert result.exit_code == 1
    assert "--strict" in result.output and "b.md: empty file" in result.output
    assert not (out / "related.json").exists()


def test_no_usable_post_fails_with_a_clear_message(tmp_path, cache_dir, write_posts):
    root = write_posts({"a.md": "", "b.md": "nothing\n"})
    result, _, _ = build(tmp_path, cache_dir, root)
    assert result.exit_code == 1
    assert "no usable post" in result.output


def test_a_build_failing_mid_write_leaves_every_previous_file_intact(tmp_path, cache_dir,
                                                                      monkeypatch):

    _, out, rep = build(tmp_path, cache_dir)
    files = sorted([*out.iterdir(), *rep.iterdir()])
    before = {p: p.read_bytes() for p in files}
    real_add = OutputBatch.add
    calls = []

    def add_until_disk_full(self, path, data):
        calls.append(path)
        if len(calls) == 3:  # the disk fills up while the third file is staged
            raise OSError(28, "No space left on device")
        return real_add(self, path, data)

    monkeypatch.setattr(OutputBatch, "add", add_until_disk_full)
    with pytest.raises(OSError, match="No space left"):
        run_build(BuildConfig(
            posts_dir=str(SAMPLE_BLOG), out_dir=str(out), reports_dir=str(rep),
            cache_dir=cache_dir, evaluate=False))
    assert sorted([*out.iterdir(), *rep.iterdir()]) == files  # no temp file left behind
    assert {p: p.read_bytes() for p in files} == before


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    import os


    target = tmp_path / "x.json"
    atomic_write_json(target, {"v": 1})

    def fail(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        atomic_write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_evaluate_prints_scores_and_writes_the_report(tmp_path, cache_dir):
    reports = tmp_path / "reports"
    result = run("evaluate", str(SAMPLE_BLOG), "--cache-dir", cache_dir,
                 "--reports", str(reports))
    assert result.exit_code == 0, result.output
    score = {ln.split()[0]: float(ln.split()[1]) for ln in result.output.splitlines()
             if ln.split()[:1] in (["random"], ["use-recipe"], ["blogrec"], ["lsi"])}
    # the default beats LSI and the study's recipe, which beat random
    assert 0 <= score["random"] < score["use-recipe"] < score["blogrec"] <= 1
    assert score["lsi"] < score["blogrec"]
    assert "MAP@5" in result.output
    evaluation = json.loads((reports / "evaluation.json").read_text())
    assert {r["method"] for r in evaluation["related"]} == {
        "random", "tfidf", "tfidf-chars", "bm25", "lsi", "tag-overlap", "use-recipe", "blogrec"}
    assert (reports / "index.html").exists() and (reports / "report.md").exists()


def linked_sample_blog(tmp_path: Path) -> tuple[Path, int]:
    """The sample blog with links added between some of its posts (it has none): each
    of the first 12 posts links to the other post that shares most of its tags, by its
    dated URL, as an author links a related post."""
    blog = tmp_path / "linked"
    shutil.copytree(SAMPLE_BLOG, blog)
    files = sorted(blog.glob("*.md"))
    tags = {f: set(frontmatter.load(f).get("tags") or []) for f in files}
    for source in files[:12]:
        target = max((f for f in files if f != source),
                     key=lambda f: (len(tags[f] & tags[source]), f.name))
        y, m, d, slug = target.stem.split("-", 3)
        with source.open("a", encoding="utf-8") as f:
            f.write(f"\n\nSee also [the post on {slug}](/{y}/{m}/{d}/{slug}/).\n")
    return blog, 12


def test_evaluate_scores_the_authors_links_that_every_method_ranks_without(tmp_path,
                                                                          cache_dir):
    blog, added = linked_sample_blog(tmp_path)
    reports = tmp_path / "reports"
    result = run("evaluate", str(blog), "--cache-dir", cache_dir, "--reports", str(reports))
    assert result.exit_code == 0, result.output
    assert f"Links between posts: {added} resolved, 0 unresolved" in result.output
    evaluation = json.loads((reports / "evaluation.json").read_text())
    links = evaluation["links"]
    assert (links["links_resolved"], links["posts_linking"]) == (added, added)
    assert added < links["posts_scored"] <= 2 * added  # the linking posts and their targets
    rows = {r["method"]: r for r in evaluation["related"]}
    for row in rows.values():
        assert 0 <= row["hit@4"] <= 1 and 0 <= row["recall@4"] <= row["hit@4"]
    assert rows["random"]["hit@4"] < rows["blogrec"]["hit@4"]
    assert "hit@4" in (reports / "report.md").read_text()
    assert "Hit@4" in (reports / "index.html").read_text()


def test_unknown_field_is_a_usage_error(tmp_path, cache_dir):
    result, _, _ = build(tmp_path, cache_dir, SAMPLE_BLOG, "--fields", "title,colour")
    assert result.exit_code == 2 and "choose from" in result.output


def test_a_second_build_on_the_same_output_refuses_with_a_clear_message(tmp_path, cache_dir):
    from filelock import FileLock

    out = tmp_path / "site"
    out.mkdir()
    config = BuildConfig(posts_dir=str(SAMPLE_BLOG), out_dir=str(out),
                                  reports_dir=str(tmp_path / "r"), cache_dir=cache_dir,
                                  lock_timeout=0.2)
    with FileLock(str(out / LOCK_NAME)):  # another build holds the output
        with pytest.raises(BuildError, match="another blogrec build"):
            run_build(config)
    assert not (out / "related.json").exists()
    run_build(config)  # once released, the build goes through
    assert (out / "related.json").exists()


def test_search_command_finds_posts_across_languages(cache_dir):
    result = run("search", "PostgreSQL のインデックス", str(SAMPLE_BLOG), "-k", "5", "--json",
                 "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) == 5
    assert any("PostgreSQL" in h["tags"] or "Indexing" in h["tags"] for h in hits[:3])


def test_demo_command_writes_a_site(tmp_path, cache_dir):
    out = tmp_path / "demo"
    result = run("demo", str(SAMPLE_BLOG), "--out", str(out), "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    assert (out / "index.html").exists() and len(list((out / "posts").glob("*.html"))) == 65


def test_build_writes_tags_clusters_vectors_and_the_report(sample_build):
    out, rep = sample_build
    tags = json.loads((out / "tags.json").read_text())
    assert set(tags["posts"]) == set(json.loads((out / "related.json").read_text())["posts"])
    clusters = json.loads((out / "clusters.json").read_text())
    assert sum(c["size"] for c in clusters["clusters"]) == 65
    vectors = json.loads((out / "vectors.json").read_text())
    assert (vectors["count"], vectors["dim"], len(vectors["posts"])) == (65, 512, 65)
    report = json.loads((rep / "report.json").read_text())
    assert {r["method"] for r in report["related"]["rows"]} >= {"random", "blogrec"}
    assert "blogrec" in report["tags"]["metrics"] and report["clusters"]["k"] == 10
    timings = json.loads((rep / "timings.json").read_text())
    assert {"parse", "embed", "related", "tags", "evaluate", "export"} <= set(timings["steps"])
    markdown = (rep / "report.md").read_text()
    assert markdown.startswith("# blogrec report") and "| blogrec |" in markdown
    page = (rep / "index.html").read_text()
    assert page.count("<section id=") == page.count("</section>") >= 8


def test_diversity_slot_adds_the_latest_post_of_the_same_cluster(tmp_path, cache_dir):
    result, out, _ = build(tmp_path, cache_dir, SAMPLE_BLOG, "--diversity-slot")
    assert result.exit_code == 0
    posts = json.loads((out / "related.json").read_text())["posts"]
    clusters = json.loads((out / "clusters.json").read_text())["clusters"]
    cluster_of = {slug: c["id"] for c in clusters for slug in c["members"]}
    with_slot = [e for e in posts.values() if "latest_in_cluster" in e]
    assert len(with_slot) >= 60
    for e in with_slot:
        latest = e["latest_in_cluster"]["slug"]
        assert cluster_of[latest] == cluster_of[e["slug"]] and latest != e["slug"]
        assert latest not in {r["slug"] for r in e["related"]}


def test_tag_weight_blends_shared_tags_into_related_posts(tmp_path, cache_dir):
    def shared_tag_rate(out):
        posts = json.loads((out / "related.json").read_text())["posts"]
        tags = {s: {t.lower() for t in e["tags"]} for s, e in posts.items()}
        pairs = [(s, r["slug"]) for s, e in posts.items() for r in e["related"]]
        return sum(bool(tags[a] & tags[b]) for a, b in pairs) / len(pairs)

    _, plain, _ = build(tmp_path / "plain", cache_dir, SAMPLE_BLOG, "--no-eval")
    _, tagged, _ = build(tmp_path / "tagged", cache_dir, SAMPLE_BLOG, "--no-eval",
                         "--tag-weight", "2")
    assert shared_tag_rate(tagged) > shared_tag_rate(plain)
    assert json.loads((tagged / "related.json").read_text())["method"] == "blogrec+tags:2"


@pytest.mark.parametrize(("draft", "expected"), [
    ("ja-postgresql-index.md", {"PostgreSQL", "SQL", "Indexing"}),
    ("en-pytest-fixtures.md", {"pytest", "Python", "Testing"}),
])
def test_suggest_tags_command_on_new_drafts(cache_dir, draft, expected):
    from .conftest import REPO

    path = REPO / "tests" / "fixtures" / "drafts" / draft
    result = run("suggest-tags", str(path), str(SAMPLE_BLOG), "-k", "5", "--json",
                 "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{"):])
    tags = [s["tag"] for s in out["suggestions"]]
    assert len(tags) == 5 and len(expected & set(tags[:3])) >= 2, tags
    on_draft = {s["tag"] for s in out["suggestions"] if s["on_post"]}
    assert on_draft == set(out["tags"]) & set(tags)


def test_suggest_tags_falls_back_to_the_text_of_a_broken_draft(cache_dir):
    from .conftest import REPO

    path = REPO / "tests" / "fixtures" / "drafts" / "en-broken-front-matter.md"
    result = run("suggest-tags", str(path), str(SAMPLE_BLOG), "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "1  " in result.output


def test_a_rebuild_with_nothing_changed_is_skipped_and_an_edit_rebuilds(tmp_path, cache_dir,
                                                                       write_posts):
    posts = write_posts({f"p{i}.md": post(f"Post {i}", body=f"Body {i}.\n") for i in range(6)})
    first, out, rep = build(tmp_path, cache_dir, posts)
    assert first.exit_code == 0 and "wrote" in first.output
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".json"}

    again, _, _ = build(tmp_path, cache_dir, posts)
    assert again.exit_code == 0
    assert "nothing changed since the last build" in again.output
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".json"} == before

    # Each of these invalidates the skip: an edited post, a removed output, --force.
    (posts / "p3.md").write_text(post("Post three, edited"), encoding="utf-8")
    edited, _, _ = build(tmp_path, cache_dir, posts)
    assert "wrote" in edited.output
    assert "Post three, edited" in (out / "related.json").read_text(encoding="utf-8")
    (out / "tags.json").unlink()
    restored, _, _ = build(tmp_path, cache_dir, posts)
    assert "wrote" in restored.output and (out / "tags.json").exists()
    (out / "tags.json").write_text("{}", encoding="utf-8")  # a hand-edited output
    assert "wrote" in build(tmp_path, cache_dir, posts)[0].output
    assert "wrote" in build(tmp_path, cache_dir, posts, "--force")[0].output
    assert "nothing changed" in build(tmp_path, cache_dir, posts)[0].output


def test_the_fingerprint_follows_settings_and_files_not_the_cache(tmp_path, write_posts,
                                                                  monkeypatch):
    monkeypatch.delenv("BLOGREC_CJK_FONT", raising=False)
    posts = write_posts({"a.md": post("A"), "b.md": post("B")})
    config = BuildConfig(posts_dir=str(posts), cache_dir=str(tmp_path / "c1"))
    base = input_fingerprint(config)
    assert base == input_fingerprint(
        BuildConfig(posts_dir=str(posts), cache_dir=str(tmp_path / "c2"),
                             lock_timeout=5))
    assert base != input_fingerprint(
        BuildConfig(posts_dir=str(posts), cache_dir=str(tmp_path / "c1"), k=3))
    # the dendrogram's CJK font is an input too
    monkeypatch.setenv("BLOGREC_CJK_FONT", str(tmp_path / "some-font.ttf"))
    assert base != input_fingerprint(config)
    monkeypatch.delenv("BLOGREC_CJK_FONT")
    assert base == input_fingerprint(config)
    (posts / "c.md").write_text(post("C"), encoding="utf-8")
    assert base != input_fingerprint(config)
    # A TF Hub model can change behind its handle: never skipped.
    assert input_fingerprint(
        BuildConfig(posts_dir=str(posts), encoder="tfhub", tfhub_handle="x")) is None


def test_one_thread_or_two_give_the_same_bytes(tmp_path, cache_dir):
    """The build's second thread takes pieces of related, tags, the clusters and the
    map; run on one thread instead, every output is the same bytes."""
    written = {}
    for threads in (1, 2):
        out, rep = tmp_path / f"t{threads}" / "site", tmp_path / f"t{threads}" / "reports"
        result = run_build(BuildConfig(posts_dir=str(SAMPLE_BLOG), out_dir=str(out),
                                       reports_dir=str(rep), cache_dir=cache_dir),
                           threads=threads)
        assert not result.skipped and "clusters" in result.timings
        written[threads] = {p.name: p.read_bytes() for p in [*out.iterdir(), *rep.iterdir()]
                            if p.name not in {"timings.json", "index.html", ".blogrec-state.json",
                                              ".blogrec.lock"}}
    assert sorted(written[1]) == ["build-report.json", "clusters.json", "related.json",
                                  "report.json", "report.md", "tags.json", "vectors.json"]
    assert written[1] == written[2]


SITES = Path(__file__).resolve().parent / "fixtures" / "sites"


@pytest.mark.parametrize("name, generator, data_dir, posts, taxonomy", [
    ("hugo-multilingual", "hugo", "data/blogrec", 10, ["tags"]),
    ("hugo-config-dir", "hugo", "data/blogrec", 5, ["topics"]),
    ("jekyll-categories", "jekyll", "_data/blogrec", 5, ["categories", "category"]),
    ("hexo", "hexo", "source/_data/blogrec", 4, ["tags", "tag", "topics"]),
    ("astro", "astro", "src/data/blogrec", 4, ["tags", "tag", "topics"]),
    ("zenn", "zenn", "blogrec-data", 3, ["tags", "tag", "topics"]),
])
def test_a_site_root_builds_with_no_option_into_its_generators_data_folder(
        tmp_path, cache_dir, name, generator, data_dir, posts, taxonomy):
    root = shutil.copytree(SITES / name, tmp_path / name)
    result = run("build", str(root), "--cache-dir", cache_dir)
    assert result.exit_code == 0, result.output
    related = json.loads((root / data_dir / "related.json").read_text("utf-8"))
    assert related["count"] == posts
    assert all(entry["related"] for entry in related["posts"].values())
    report = json.loads((root / "blogrec-reports" / "build-report.json").read_text("utf-8"))
    assert report["site"]["generator"] == generator
    assert report["taxonomy"] == taxonomy
    assert report["rejected"] == []
    assert f"- site: {generator}" in (root / "blogrec-reports" / "report.md").read_text("utf-8")
    # the reports written inside the root are not posts: the next build is skipped
    assert "nothing changed" in run("build", str(root), "--cache-dir", cache_dir).output


def test_taxonomy_option_chooses_the_tag_field(tmp_path, cache_dir):
    root = shutil.copytree(SITES / "jekyll-categories", tmp_path / "site")
    (root / "_posts" / "2024-03-01-tagged.md").write_text(
        "---\ntitle: Tagged\ntags: [rare-tag]\ncategories: [garden]\n---\nBody.\n",
        encoding="utf-8")
    assert run("build", str(root), "--cache-dir", cache_dir).exit_code == 0
    report = root / "blogrec-reports" / "build-report.json"
    assert json.loads(report.read_text("utf-8"))["taxonomy"] == ["tags", "tag", "topics"]
    assert run("build", str(root), "--cache-dir", cache_dir, "--taxonomy", "categories"
               ).exit_code == 0
    assert json.loads(report.read_text("utf-8"))["taxonomy"] == ["categories"]
    tags = json.loads((root / "_data" / "blogrec" / "tags.json").read_text("utf-8"))
    assert "rare-tag" not in {t["tag"] for t in tags["tags"]}


def test_a_site_roots_base_url_and_out_options(tmp_path, cache_dir):
    root = shutil.copytree(SITES / "hugo-multilingual", tmp_path / "site")
    config = BuildConfig(posts_dir=str(root))
    assert config.out_dir == str(root / "data" / "blogrec")
    assert config.reports_dir == str(root / "blogrec-reports")
    assert config.site_url == "https://garden-notes.example.org/"
    config = BuildConfig(posts_dir=str(root), out_dir="x", reports_dir="y",
                         site_url="https://other.example/")
    assert (config.out_dir, config.reports_dir, config.site_url) == (
        "x", "y", "https://other.example/")
    # a folder of posts: as before
    plain = BuildConfig(posts_dir=str(SAMPLE_BLOG))
    assert (plain.out_dir, plain.reports_dir, plain.site_url) == ("site_data", "reports", None)


def test_every_command_reads_a_site_root(tmp_path, cache_dir):
    """suggest-tags, suggest-links and search take the root as build does: the Jekyll
    site's posts, its categories as the tags, and build's saved tag model."""
    root = shutil.copytree(SITES / "jekyll-categories", tmp_path / "site")
    assert run("build", str(root), "--cache-dir", cache_dir).exit_code == 0
    draft = tmp_path / "draft.md"
    draft.write_text("---\ntitle: A Makefile for every project\n---\nPattern rules and "
                     "variables in a Makefile, and make targets as a command index.\n",
                     encoding="utf-8")
    tags = json.loads(run("suggest-tags", str(draft), str(root), "--json", "--cache-dir",
                          cache_dir).stdout)
    assert tags["model"] == "saved"
    assert {"build", "make"} <= {s["tag"] for s in tags["suggestions"]}  # categories
    links = json.loads(run("suggest-links", str(draft), str(root), "--json", "--cache-dir",
                           cache_dir).stdout)
    assert links["suggestions"][0]["path"].startswith("_posts/")
    assert "makefiles" in links["suggestions"][0]["slug"]
    found = json.loads(run("search", "ssh config", str(root), "--json", "--cache-dir",
                           cache_dir).stdout)
    assert found[0]["path"] == "_posts/2024-01-27-ssh-config-tricks.md"
