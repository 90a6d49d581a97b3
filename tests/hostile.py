"""Hostile and broken blog inputs, built at test time, each with its expected outcome; and
small shims the fault tests run in subprocesses (`python -c "import tests.hostile as h; ..."`).

Nothing big is committed: every file is written into a temporary directory by the test.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLE_BLOG = REPO / "sample_blog" / "posts"
MARKER_NAME = "PWNED-by-yaml"  # a !!python payload would create this file

# ------------------------------------------------------------------ good posts

TOPICS = {
    "python": ("Python", ["pytest fixtures", "virtual environments", "type hints",
                          "asyncio event loop", "packaging wheels"]),
    "docker": ("Docker", ["multi-stage builds", "image layers", "compose networks",
                          "container healthchecks", "registry mirrors"]),
    "postgres": ("PostgreSQL", ["index scans", "vacuum tuning", "query plans",
                                "connection pooling", "logical replication"]),
    "kubernetes": ("Kubernetes", ["pod memory limits", "rolling updates", "ingress rules",
                                  "horizontal autoscaling", "config maps"]),
    "rust": ("Rust", ["borrow checker", "iterator adaptors", "error handling",
                      "cargo workspaces", "async runtimes"]),
}


def good_post(i: int, seed: int = 0) -> str:
    """A small valid post about one topic (deterministic in i and seed)."""
    rng = random.Random(seed * 100_003 + i)
    key = sorted(TOPICS)[i % len(TOPICS)]
    tag, subjects = TOPICS[key]
    a, b = rng.sample(subjects, 2)
    extra = rng.choice([t for t, _ in TOPICS.values() if t != tag])
    return (
        f"---\ntitle: \"{tag} notes {i}: {a}\"\ndate: 2020-{1 + i % 12:02d}-{1 + i % 28:02d}\n"
        f"tags: [{tag}, {extra if rng.random() < 0.3 else tag + '-tips'}]\n"
        f"lede: What we learnt about {a} and {b} in {tag}.\n---\n"
        f"## {a.capitalize()}\n\nWe looked at {a} in {tag} while working on {b}.\n\n"
        f"## {b.capitalize()}\n\nNotes on {b}, {a} and {tag} in production.\n"
    )


def write_good_posts(root: Path, n: int, seed: int = 0, prefix: str = "good") -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        name = f"{prefix}-{seed}-{i:04d}.md"
        (root / name).write_text(good_post(i, seed), encoding="utf-8")
        names.append(name)
    return names


def copy_sample_blog(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for p in sorted(SAMPLE_BLOG.iterdir()):
        if p.is_file():
            (root / p.name).write_bytes(p.read_bytes())


# ------------------------------------------------------------------ hostile inputs


@dataclass
class Case:
    """One hostile input. `make(root, aux)` writes it under root (aux: a directory outside
    the blog) and returns the blog-relative paths it created that the build will see.

    expect: "accepted" (a post, maybe with a warning), "rejected" (in build-report
    rejected with `reason` as a substring), "skipped" (a draft) or "ignored" (never read).
    """

    name: str
    make: Callable[[Path, Path], list[str]]
    expect: str
    reason: str = ""  # rejected: substring of the reason; accepted: of a warning
    title: str | None = None
    tags: tuple[str, ...] | None = None
    check: Callable[[Any], None] | None = None  # extra assertion on the accepted Post
    slow: bool = False
    notes: list[str] = field(default_factory=list)


def _text(rel: str, text: str) -> Callable[[Path, Path], list[str]]:
    def make(root: Path, aux: Path) -> list[str]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("MARKER", str(aux / MARKER_NAME)), encoding="utf-8")
        return [rel]
    return make


def _bytes(rel: str, data: bytes) -> Callable[[Path, Path], list[str]]:
    def make(root: Path, aux: Path) -> list[str]:
        (root / rel).write_bytes(data)
        return [rel]
    return make


def fm(yaml: str, body: str = "Body text about things.\n") -> str:
    return f"---\n{yaml}\n---\n{body}"


def billion_laughs(levels: int = 20) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return fm("title: laughs\n" + "\n".join(lines))


def _big_post(rel: str, megabytes: int) -> Callable[[Path, Path], list[str]]:
    def make(root: Path, aux: Path) -> list[str]:
        line = ("All work and no play makes a very long post. " * 20 + "\n").encode()
        chunk = line * (1024 * 1024 // len(line) + 1)
        with open(root / rel, "wb") as fh:
            fh.write(b"---\ntitle: Huge\ntags: [big]\n---\n")
            written = 0
            while written < megabytes * 1024 * 1024:
                fh.write(chunk)
                written += len(chunk)
        return [rel]
    return make


def _symlink(rel: str, target: Callable[[Path, Path], Path | str]
             ) -> Callable[[Path, Path], list[str]]:
    def make(root: Path, aux: Path) -> list[str]:
        os.symlink(target(root, aux), root / rel)
        return [rel]
    return make


def _loop(root: Path, aux: Path) -> list[str]:
    os.symlink(root / "loop-b.md", root / "loop-a.md")
    os.symlink(root / "loop-a.md", root / "loop-b.md")
    return ["loop-a.md", "loop-b.md"]


def _outside_post(root: Path, aux: Path) -> Path:
    secret = aux / "secret-outside.md"
    secret.write_text(fm("title: Secret outside the blog\ntags: [secret]"), encoding="utf-8")
    return secret


def _outside_dir(root: Path, aux: Path) -> list[str]:
    d = aux / "outside-dir"
    d.mkdir(exist_ok=True)
    (d / "inner.md").write_text(fm("title: Inner outside"), encoding="utf-8")
    os.symlink(d, root / "linked-dir")
    return ["linked-dir/inner.md"]


def _fifo(root: Path, aux: Path) -> list[str]:
    os.mkfifo(root / "fifo.md")  # reading it would block forever
    return ["fifo.md"]


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _unreadable(root: Path, aux: Path) -> list[str]:
    path = root / "unreadable.md"
    path.write_text(fm("title: Unreadable\ntags: [secret]"), encoding="utf-8")
    path.chmod(0)
    return ["unreadable.md"]


def _many_headings(root: Path, aux: Path) -> list[str]:
    body = "".join(f"## Heading {i}\n\ntext {i}\n\n" for i in range(100_000))
    (root / "many-headings.md").write_text(fm("title: Many headings", body), encoding="utf-8")
    return ["many-headings.md"]


def _collision(root: Path, aux: Path) -> list[str]:
    (root / "collide-a.md").write_text(fm("title: First\nslug: Same-Slug"), encoding="utf-8")
    (root / "collide-b.md").write_text(fm("title: Second\nslug: same-slug"), encoding="utf-8")
    return ["collide-b.md"]


def _reserved(root: Path, aux: Path) -> list[str]:
    for name in ("CON", "NUL", "aux", "com1"):
        (root / f"{name}.md").write_text(fm(f"title: Reserved {name}"), encoding="utf-8")
    return ["CON.md", "NUL.md", "aux.md", "com1.md"]


def _check_len(n: int, what: str = "title") -> Callable[[Any], None]:
    def check(post: Any) -> None:
        assert 0 < len(getattr(post, what)) <= n, len(getattr(post, what))
    return check


def _headings_capped(post: Any) -> None:
    from blogrec.markup import MAX_HEADINGS

    assert len(post.headings) == MAX_HEADINGS


XSS_TITLE = "&lt;script&gt;alert('title')&lt;/script&gt;"  # unescaped by the reader
XSS_TAG = "<script>alert('tag')</script>"
IMG_TITLE = "<img src=x onerror=alert(1)>"  # only a tag: the raw title is kept
RTL_TITLE = "مرحبا بالعالم \u202eevil\u202c שלום"
EMOJI = "🚀 Launch 🎉 day 👩‍💻"
# Each value carries a marker (XSS-n) that no output file may contain.
UNSAFE_URLS = [
    ("url", "javascript:alert(document.cookie) // XSS-1"),
    ("permalink", "data:text/html,<script>alert('XSS-2')</script>"),
    ("url", " JaVaScRiPt:alert('XSS-3')"),
    ("url", "vbscript:msgbox('XSS-4')"),
    ("permalink", "file:///etc/passwd?XSS-5"),
    ("url", "java\tscript:alert('XSS-6')"),
    ("url", "\x01javascript:alert('XSS-7')"),
    ("url", "java\nscript:alert('XSS-8')"),
    ("permalink", "DATA:text/html;base64,PHNjcmlwdD5YU1MtOTwvc2NyaXB0Pg==#XSS-9"),
]
UNSAFE_MARKERS = [f"XSS-{i}" for i in range(1, 10)] + ["PHNjcmlwdD5YU1MtOTwvc2NyaXB0Pg"]
SAFE_URLS = ["https://example.org/2020/01/safe/", "HTTP://example.org/caps/",
             "//cdn.example.org/protocol-relative/", "/2016/03/04/root-relative/",
             "../relative/", "relative/page.html", "?query=a:b", "#fragment"]
N = 60_000  # repetitions in the regex "bombs" (~250 KB bodies: hours each before the fix)

CASES: list[Case] = [
    # ---- YAML
    Case("yaml-alias-bomb", _text("yaml-alias-bomb.md", billion_laughs()), "rejected", "aliases"),
    Case("yaml-python-object", _text("yaml-python-object.md", fm(
        "title: !!python/object/apply:os.system ['touch MARKER']")), "rejected", "constructor"),
    Case("yaml-python-new", _text("yaml-python-new.md", fm(
        "title: x\nx: !!python/object/new:subprocess.Popen [[touch, MARKER]]")),
        "rejected", "constructor"),
    Case("yaml-python-name", _text("yaml-python-name.md", fm(
        "title: x\nx: !!python/name:os.system")), "rejected", "constructor"),
    Case("yaml-custom-tag", _text("yaml-custom-tag.md", fm("title: !include /etc/passwd")),
         "rejected", "constructor"),
    Case("yaml-binary-title", _text("yaml-binary-title.md", fm("title: !!binary aGVsbG8=")),
         "rejected", "'title' must be a string"),
    Case("yaml-bad-explicit-int", _text("yaml-bad-explicit-int.md", fm("title: x\nn: !!int abc")),
         "rejected", "malformed YAML"),
    Case("yaml-bad-timestamp-tag", _text("yaml-bad-timestamp-tag.md",
                                         fm("title: x\nd: !!timestamp soon")),
         "accepted", title="x"),
    Case("yaml-empty-explicit-int", _text("yaml-empty-explicit-int.md", fm("title: !!int ")),
         "rejected", "malformed YAML"),
    Case("yaml-huge-integer", _text("yaml-huge-integer.md", fm("title: " + "9" * 5000)),
         "rejected", "malformed YAML"),
    Case("yaml-tab-indent", _text("yaml-tab-indent.md", fm("title: Tabs\ntags:\n\t- a")),
         "rejected", "malformed YAML"),
    Case("yaml-tab-separator", _text("yaml-tab-separator.md", fm("title:\tTabbed")),
         "accepted", title="Tabbed"),
    Case("yaml-control-char", _text("yaml-control-char.md", fm("title: red \x1b[31m alert")),
         "rejected", "malformed YAML"),
    Case("yaml-duplicate-keys", _text("yaml-duplicate-keys.md", fm(
        "title: first\ntitle: second\ntags: [a]\ntags: [b]")),
        "accepted", "duplicate key 'title'", title="second", tags=("b",)),
    Case("yaml-list-for-title", _text("yaml-list-for-title.md", fm("title: [a, b]")),
         "rejected", "'title' must be a string, got list"),
    Case("yaml-map-for-title", _text("yaml-map-for-title.md", fm("title: {a: 1}")),
         "rejected", "'title' must be a string, got mapping"),
    Case("yaml-string-for-tags", _text("yaml-string-for-tags.md", fm(
        "title: One tag\ntags: python, docker")), "accepted", title="One tag",
        tags=("python, docker",)),
    # ---- a field of the wrong shape costs that field (or entry), never the post
    Case("yaml-map-for-tags", _text("yaml-map-for-tags.md", fm("title: T\ntags: {a: 1}")),
         "accepted", "'tags' must be a list of strings or a string, got mapping", tags=()),
    Case("yaml-bool-in-tags", _text("yaml-bool-in-tags.md", fm("title: T\ntags: [yes, no]")),
         "accepted", "dropped 2 boolean", tags=()),
    Case("yaml-recursive-tags", _text("yaml-recursive-tags.md", fm("title: T\ntags: &a [*a]")),
         "accepted", "dropped 1 list", tags=()),
    Case("yaml-null-in-tags", _text("yaml-null-in-tags.md", fm(
        "title: Null tag\ntags: [keep-a, null, ~, keep-b]")),
        "accepted", "'tags' entries must be strings; dropped 2 null", title="Null tag",
        tags=("keep-a", "keep-b")),
    Case("yaml-map-for-categories", _text("yaml-map-for-categories.md", fm(
        "title: Cat map\ntags: [cat-map]\ncategories: {a: 1}")),
        "accepted", "'categories' must be a list", tags=("cat-map",),
        check=lambda p: p.categories == ()),
    Case("many-categories", _text("many-categories.md", fm(
        "title: Cats\ncategories: [" + ", ".join(f"c{i}" for i in range(20_000)) + "]")),
        "accepted", "'categories' has 20000 entries (limit 1000); the first 1000 are kept",
        check=lambda p: p.categories[:2] == ("c0", "c1") and len(p.categories) == 1000),
    Case("yaml-map-for-lede", _text("yaml-map-for-lede.md", fm(
        "title: Lede map\nlede: {a: 1}")), "accepted", "'lede' must be a string",
        check=lambda p: p.lede == ""),
    Case("yaml-list-for-slug", _text("yaml-list-for-slug.md", fm(
        "title: Slug list\nslug: [a, b]")), "accepted", "'slug' must be a string",
        check=lambda p: p.slug == "yaml-list-for-slug"),
    Case("yaml-list-for-url", _text("yaml-list-for-url.md", fm(
        "title: Url list\nurl: [/a/]")), "accepted", "'url' must be a string",
        check=lambda p: p.url is None),
    Case("yaml-date-words", _text("yaml-date-words.md", fm(
        "title: Words\ndate: next tuesday-ish")), "accepted", "not a date", title="Words"),
    Case("yaml-date-number", _text("yaml-date-number.md", fm("title: Num\ndate: 12345")),
         "accepted", "not a date", title="Num"),
    Case("yaml-date-list", _text("yaml-date-list.md", fm("title: L\ndate: [2021, 1, 1]")),
         "accepted", "not a date", title="L"),
    Case("yaml-date-impossible", _text("yaml-date-impossible.md", fm(
        "title: Feb\ndate: 2021-02-30")), "accepted", "not a date", title="Feb",
        check=lambda p: p.date is None),
    Case("yaml-date-year-99999", _text("yaml-date-year-99999.md", fm(
        "title: Far\ndate: '99999-01-01'")), "accepted", "not a date", title="Far"),
    Case("yaml-deep-nesting", _text("yaml-deep-nesting.md", fm(
        "title: x\ny: " + "[" * 5000 + "]" * 5000)), "rejected", "nested"),
    Case("yaml-block-deep-nesting", _text("yaml-block-deep-nesting.md", fm(
        "title: Deep\n" + "".join(" " * i + f"k{i}:\n" for i in range(600)) + " " * 600 + "v")),
        "accepted", title="Deep"),
    Case("yaml-nested-block-seq", _text("yaml-nested-block-seq.md", fm(
        "title: x\ny: " + "- " * 5000 + "x")), "rejected", "malformed YAML"),
    Case("yaml-not-a-mapping", _text("yaml-not-a-mapping.md", fm("- a\n- b")),
         "rejected", "not a mapping"),
    Case("yaml-never-closes", _text("yaml-never-closes.md",
                                    "---\ntitle: Open\ntags: [a]\n" + "Body forever\n" * 50),
         "rejected", "never closes"),
    Case("yaml-no-front-matter", _text("yaml-no-front-matter.md", "# Just a heading\n"),
         "rejected", "no front matter"),
    Case("yaml-missing-title", _text("yaml-missing-title.md", fm("tags: [a]")),
         "rejected", "missing title"),
    Case("yaml-draft", _text("yaml-draft.md", fm("title: Draft\ndraft: true")), "skipped"),
    # ---- files
    Case("binary-png", _bytes("binary-png.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50),
         "rejected", "binary"),
    Case("invalid-utf8", _bytes("invalid-utf8.md", fm("title: caf\udce9", "x").encode(
        "utf-8", "surrogateescape")), "rejected", "not valid UTF-8"),
    Case("latin1", _bytes("latin1.md", fm("title: café").encode("latin-1")),
         "rejected", "0xe9"),
    Case("nul-bytes", _bytes("nul-bytes.md", fm("title: Nul", "a\x00b").encode()),
         "rejected", "NUL"),
    Case("utf16", _bytes("utf16.md", fm("title: Sixteen").encode("utf-16")),
         "rejected", "binary"),
    Case("huge-50mb", _big_post("huge-50mb.md", 50), "rejected", "too large", slow=True),
    Case("many-tags", _text("many-tags.md", fm(
        "title: Tags\ntags: [" + ", ".join(f"t{i}" for i in range(10_000)) + "]")),
        "accepted", "10000 entries", check=lambda p: len(p.tags) == 1000),
    Case("many-headings", _many_headings, "accepted", title="Many headings",
         check=_headings_capped),
    Case("empty", _bytes("empty.md", b""), "rejected", "empty file"),
    Case("whitespace-only", _bytes("whitespace-only.md", b" \n\t\r\n"), "rejected", "empty"),
    Case("symlink-loop", _loop, "rejected", "cannot resolve"),
    Case("symlink-self", _symlink("self.md", lambda r, a: r / "self.md"),
         "rejected", "cannot resolve"),
    Case("symlink-dangling", _symlink("dangling.md", lambda r, a: r / "missing-target.md"),
         "rejected", "broken symlink"),
    Case("symlink-outside", _symlink("outside.md", _outside_post), "rejected", "outside"),
    Case("symlink-etc-passwd", _symlink("passwd.md", lambda r, a: "/etc/passwd"),
         "rejected", "outside"),
    Case("symlink-dev-zero", _symlink("zero.md", lambda r, a: "/dev/zero"),
         "rejected", "outside"),
    Case("symlink-dir-outside", _outside_dir, "ignored"),
    Case("fifo", _fifo, "rejected", "not a regular file"),
    Case("unreadable", _unreadable, "accepted" if running_as_root() else "rejected",
         "" if running_as_root() else "cannot read",
         title="Unreadable" if running_as_root() else None),
    # ---- names
    Case("slug-dotdot", _text("slug-dotdot.md", fm("title: Dots\nslug: ../../../../etc/evil")),
         "accepted", title="Dots"),
    Case("slug-absolute", _text("slug-absolute.md", fm("title: Abs\nslug: /tmp/evil-abs")),
         "accepted", title="Abs"),
    Case("slug-backslash", _text("slug-backslash.md", fm(
        "title: Back\nslug: '..\\..\\windows\\evil'")), "accepted", title="Back"),
    Case("reserved-names", _reserved, "accepted"),
    Case("slug-collision", _collision, "rejected", "duplicate slug 'same-slug'"),
    Case("name-newline", _text("name\nwith newline.md", fm("title: Newline name")),
         "accepted", title="Newline name"),
    Case("name-unicode", _text("日本語 の ファイル.md", fm("title: 日本語のタイトル")),
         "accepted", title="日本語のタイトル"),
    # ---- URLs a browser would run: the field is dropped, the post kept
    *[Case(f"unsafe-url-{i}", _text(f"unsafe-url-{i}.md", fm(
        f"title: Unsafe url {i}\n{key}: {json.dumps(value)}")), "accepted",
        f"'{key}' is not a link blogrec writes", check=lambda p: p.url is None)
      for i, (key, value) in enumerate(UNSAFE_URLS)],
    *[Case(f"safe-url-{i}", _text(f"safe-url-{i}.md", fm(
        f"title: Safe url {i}\nurl: {json.dumps(value)}")), "accepted",
        check=lambda p, value=value: p.url == value.strip())
      for i, value in enumerate(SAFE_URLS)],
    # ---- titles and tags
    Case("html-js-title", _text("html-js-title.md", fm(
        f"title: \"{XSS_TITLE}\"\ntags: [\"{XSS_TAG}\", \"<b onmouseover=x>b</b>\"]")),
        "accepted", title="<script>alert('title')</script>",
        tags=(XSS_TAG, "<b onmouseover=x>b</b>")),
    Case("html-img-title", _text("html-img-title.md", fm(f"title: \"{IMG_TITLE}\"")),
         "accepted", title=IMG_TITLE),
    Case("emoji", _text("emoji.md", fm(f"title: \"{EMOJI}\"\ntags: [\"🐍\", \"🚀 rockets\"]")),
         "accepted", title=EMOJI, tags=("🐍", "🚀 rockets")),
    Case("rtl", _text("rtl.md", fm(f"title: \"{RTL_TITLE}\"\ntags: [עברית, العربية]")),
         "accepted", title=RTL_TITLE, tags=("עברית", "العربية")),
    Case("title-1mb", _text("title-1mb.md", fm("title: " + "x" * 1_000_000)),
         "rejected", "front matter is too large"),
    Case("title-200kb", _text("title-200kb.md", fm("title: " + "long " * 40_000)),
         "accepted", check=_check_len(10_000)),
    Case("tag-100kb", _text("tag-100kb.md", fm("title: Long tag\ntags: [" + "t" * 100_000 + "]")),
         "accepted", title="Long tag", check=lambda p: len(p.tags[0]) <= 200),
    # ---- bodies that made the Markdown regexes quadratic (hours per MB before the fix)
    Case("body-comment-bomb", _text("body-comment-bomb.md", fm("title: C", "<!--" * N)),
         "accepted", title="C"),
    Case("body-script-bomb", _text("body-script-bomb.md", fm("title: S", "<script " * N)),
         "accepted", title="S"),
    Case("body-liquid-bomb", _text("body-liquid-bomb.md", fm("title: L", "{%{{" * N)),
         "accepted", title="L"),
    Case("body-bracket-bomb", _text("body-bracket-bomb.md", fm("title: B", "![a](" * N)),
         "accepted", title="B"),
    Case("body-refdef-bomb", _text("body-refdef-bomb.md", fm("title: R", "[x\n" * N)),
         "accepted", title="R"),
    Case("body-lt-bomb", _text("body-lt-bomb.md", fm("title: Lt", "<" * (4 * N))),
         "accepted", title="Lt"),
    Case("body-heading-bomb", _text("body-heading-bomb.md", fm(
        "title: H", "<h1>" * N + "\n# a" + " " * N + "b\n")), "accepted", title="H"),
]


def case_by_name(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def build_hostile_blog(root: Path, aux: Path, cases: list[Case] | None = None
                       ) -> dict[str, list[str]]:
    """Write every case under root; returns case name -> the paths it created."""
    root.mkdir(parents=True, exist_ok=True)
    aux.mkdir(parents=True, exist_ok=True)
    return {c.name: c.make(root, aux) for c in (cases or CASES)}


# ------------------------------------------------------------------ bounded execution


def run_bounded(fn: Callable[..., Any], *args: Any, timeout: float = 10.0,
                memory_mb: int = 1500) -> tuple[Any, float]:
    """Run fn(*args) in a forked child with a hard time limit and at most `memory_mb` more
    address space than this process; returns (result, seconds). A hang or a memory blow-up
    fails the caller's test instead of stalling the suite."""
    import multiprocessing as mp
    import resource

    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def target() -> None:
        try:
            with open("/proc/self/statm") as fh:
                vsz = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            limit = vsz + memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (OSError, ValueError):
            pass
        start = time.perf_counter()
        try:
            out: Any = ("ok", fn(*args))
        except BaseException as exc:  # report it to the parent, whatever it is
            out = ("error", f"{type(exc).__name__}: {exc}"[:2000])
        child.send((out, time.perf_counter() - start))
        child.close()

    proc = ctx.Process(target=target, daemon=True)
    start = time.perf_counter()
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise TimeoutError(f"{getattr(fn, '__name__', fn)} took more than {timeout:g}s")
        (status, value), seconds = parent.recv()
    except EOFError:
        raise RuntimeError(f"child died (exit {proc.exitcode}; out of memory?)") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(10)
        parent.close()
    if status == "error":
        raise AssertionError(f"raised in bounded run: {value}")
    return value, min(seconds, time.perf_counter() - start)


# ------------------------------------------------------------------ fault shims


def _config(posts: str, out: str, reports: str, cache: str, **kw: Any) -> Any:
    from blogrec.build import BuildConfig

    return BuildConfig(posts_dir=posts, out_dir=out, reports_dir=reports, cache_dir=cache,
                       evaluate=False, **kw)


def build_and_die_after_first_rename(posts: str, out: str, reports: str, cache: str) -> None:
    """A build that is SIGKILLed in the middle of OutputBatch.commit, right after the
    first of its renames (run in a subprocess)."""
    from blogrec.build import run_build
    from blogrec.store import OutputBatch

    original = OutputBatch.commit

    def commit(self: Any) -> list[str]:
        if len(self._staged) < 2:  # a single-file write (the embedding cache), not the export
            return original(self)
        tmp, target = self._staged[0]
        os.replace(tmp, target)
        print(f"renamed {target}; killing myself", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        return []  # pragma: no cover

    OutputBatch.commit = commit  # type: ignore[method-assign]
    run_build(_config(posts, out, reports, cache))


def run_flow_with_failures(posts: str, runs: list[dict[str, Any]], result: str) -> None:
    """Run flows.build_flow.build_flow once per entry of `runs` in this process (one
    temporary Prefect server), with blogrec.build.steps.embed failing `fail` times per run
    with an OSError (a transient fault: a full disk, a flaky share); write the final
    states to `result` as JSON."""
    from blogrec import flow as bf  # TaskSteps lives here; flows/build_flow.py runs it
    from blogrec.build import plan, steps
    from flows.build_flow import build_flow

    real_embed = steps.embed
    state: dict[str, int] = {"calls": 0, "fail": 0}

    def flaky_embed(features: Any, config: Any) -> None:
        state["calls"] += 1
        if state["calls"] <= state["fail"]:
            raise OSError(5, f"injected transient failure #{state['calls']}")
        real_embed(features, config)

    steps.embed = flaky_embed  # type: ignore[assignment]
    # Same retries as production, a shorter pause between them to keep the test quick.
    retries = plan.EMBED_RETRIES
    bf.RETRY_DELAY_SECONDS = 1
    out: list[dict[str, Any]] = []
    for run in runs:
        state.update(calls=0, fail=int(run["fail"]))
        final = build_flow(posts, options={"out_dir": run["out"], "reports_dir": run["reports"],
                                           "cache_dir": run["cache"], "evaluate": False},
                           return_state=True)
        try:
            value: Any = final.result(raise_on_failure=True)
            error = None
        except BaseException as exc:  # the flow's failure, as Prefect reports it
            value, error = None, f"{type(exc).__name__}: {exc}"
        out.append({"type": final.type.value, "name": final.name, "message": final.message,
                    "embed_calls": state["calls"], "retries": retries, "error": error,
                    "outputs": value})
        print(f"flow run {len(out)}: {final.type.value} {final.message}", flush=True)
    Path(result).write_text(json.dumps(out, indent=2))
