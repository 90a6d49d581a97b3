"""Detecting a site's generator and reading its config: one fixture root per generator,
permalink expansion as each generator does it, and configs that are broken or hostile."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from blogrec.corpus import load_corpus
from blogrec.front_matter import load_front_matter
from blogrec.sites import (
    MAX_CONFIG_BYTES,
    Site,
    detect_site,
    expand_permalink,
    hexo_slugize,
    hugo_urlize,
    jekyll_slugify,
)

SITES = Path(__file__).resolve().parent / "fixtures" / "sites"
BAD = SITES / "bad-configs"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


POST = "---\ntitle: A post\ndate: 2024-01-05\n---\nBody.\n"


# ------------------------------------------------------------------ the fixtures


def test_hugo_multilingual():
    site = detect_site(SITES / "hugo-multilingual")
    assert site.generator == "hugo"
    assert site.config_files == ("hugo.toml",)
    assert site.posts_dirs == ("content/posts",)
    assert site.base_url == "https://garden-notes.example.org"  # no trailing slash
    assert site.permalinks == {"posts": "/:year/:month/:slug/"}
    assert site.taxonomies == ("tags",)
    assert site.languages == ("en", "es")
    assert site.default_language == "en"
    assert site.language_dirs == {}  # both languages share content/, x.es.md style
    assert site.data_dir == "data/blogrec"
    assert site.reports_dir == "blogrec-reports"
    assert site.warnings == ()


def test_hugo_config_dir_with_a_content_dir_per_language():
    site = detect_site(SITES / "hugo-config-dir")
    assert site.generator == "hugo"
    # config/development/ is only for `hugo server`: not read
    assert site.config_files == (
        "config/_default/hugo.toml",
        "config/_default/languages.toml",
        "config/_default/menus.en.toml",
        "config/_default/params.toml",
        "config/_default/taxonomies.toml",
    )
    assert site.posts_dirs == ("content/en/blog", "content/ja/blog")
    assert site.language_dirs == {"en": "content/en", "ja": "content/ja"}
    assert site.languages == ("en", "ja")
    assert site.default_language == "en"  # from the lowercase `defaultcontentlanguage`
    assert site.base_url == "https://trace-notes.example.com"  # from `baseurl`
    assert site.permalinks == {"blog": "/blog/:year/:slug/"}  # [permalinks.page]
    assert site.taxonomies == ("topics",)
    assert site.data_dir == "data/blogrec"
    assert site.warnings == ()


def test_jekyll_with_categories():
    site = detect_site(SITES / "jekyll-categories")
    assert site.generator == "jekyll"
    assert site.config_files == ("_config.yml",)
    assert site.posts_dirs == ("_posts",)
    assert site.base_url == "https://shellscraps.example.net/blog"  # url + baseurl
    assert site.permalinks == {"*": "/:categories/:year/:month/:day/:title/"}
    assert site.taxonomies is None
    assert site.languages == ()
    assert site.data_dir == "_data/blogrec"
    assert site.warnings == ()


def test_hexo():
    site = detect_site(SITES / "hexo")
    assert site.generator == "hexo"
    assert site.config_files == ("_config.yml",)
    assert site.posts_dirs == ("source/_posts",)
    # url already ends with root (/blog/), as Hexo's docs recommend: not doubled
    assert site.base_url == "https://kitchen-lab.example.com/blog"
    assert site.permalinks == {"*": ":year/:month/:day/:title/"}
    assert site.new_post_name == ":title.md"
    assert site.taxonomies is None
    assert site.languages == ()
    assert site.default_language == "en"
    assert site.data_dir == "source/_data/blogrec"
    assert site.warnings == ()


def test_astro():
    site = detect_site(SITES / "astro")
    assert site.generator == "astro"
    assert site.config_files == ("astro.config.mjs",)
    assert site.posts_dirs == ("src/content/blog",)
    # the commented-out `site: 'https://old.example.dev'` is skipped
    assert site.base_url == "https://example.dev/notes"
    assert site.permalinks == {}
    assert site.taxonomies is None
    assert site.languages == ()
    assert site.data_dir == "src/data/blogrec"
    assert site.warnings == ()


def test_zenn():
    site = detect_site(SITES / "zenn")
    assert site.generator == "zenn"
    assert site.config_files == ("package.json",)  # it depends on zenn-cli
    assert site.posts_dirs == ("articles",)
    assert site.base_url is None  # zenn.dev/<user>/articles/<slug>: the user is unknown
    assert site.permalinks == {}
    assert site.taxonomies is None
    assert site.languages == ()
    assert site.data_dir == "blogrec-data"
    assert site.warnings == ()


def test_a_plain_folder_of_posts(tmp_path):
    write(tmp_path, {"first.md": POST, "notes/second.md": POST})
    site = detect_site(tmp_path)
    assert site.generator == "folder"
    assert site.posts_dirs == (".",)
    assert site.config_files == ()
    assert site.base_url is None
    assert site.data_dir == "blogrec-data"
    assert site.root == str(tmp_path)


def test_describe_is_json_ready():
    summary = detect_site(SITES / "hugo-config-dir").describe()
    assert json.loads(json.dumps(summary)) == summary
    assert summary["generator"] == "hugo"
    assert summary["posts_dirs"] == ["content/en/blog", "content/ja/blog"]
    assert summary["taxonomies"] == ["topics"]
    assert set(summary) >= {"generator", "config_files", "posts_dirs", "base_url",
                            "permalinks", "taxonomies", "languages", "data_dir", "warnings"}


def fixture_posts() -> list[tuple[str, Path, Path]]:
    out = []
    for root in sorted(p for p in SITES.iterdir() if p.is_dir() and p.name != "bad-configs"):
        for posts_dir in detect_site(root).posts_dirs:
            folder = root / posts_dir
            out += [(root.name, folder, p) for p in sorted(folder.rglob("*.md"))]
    return out


@pytest.mark.parametrize("site_name,folder,path", fixture_posts(),
                         ids=lambda v: v.name if isinstance(v, Path) else v)
def test_every_fixture_post_has_yaml_front_matter_with_a_title(site_name, folder, path):
    # Other tests reuse these roots end to end, so each post must be a valid post,
    # except Hugo's headless bundle, which has no title on purpose.
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    front, _, body = text[4:].partition("\n---\n")
    meta, duplicate_keys = load_front_matter(front)
    assert isinstance(meta, dict) and duplicate_keys == [] and body.strip()
    if path.relative_to(folder).as_posix() == "shared/index.md":
        assert meta == {"headless": True}
    else:
        assert isinstance(meta["title"], str) and meta["title"]


# ------------------------------------------------------------ detection rules


def test_hugo_keys_are_case_insensitive_and_languages_sort_by_weight(tmp_path):
    write(tmp_path, {
        "hugo.yaml": (
            "BaseUrl: https://cases.example.org/\n"
            "DefaultContentLanguage: FR\n"
            "Languages:\n"
            "  de: {Weight: 0}\n"  # weight 0 (unset) sorts after the weighted ones
            "  en: {weight: 2}\n"
            "  fr: {weight: 3}\n"
            "  nl: {weight: 2}\n"  # same weight as en: by name
            "  it: {weight: 1, disabled: true}\n"
        ),
        "content/post/a.md": POST,
    })
    site = detect_site(tmp_path)
    assert site.base_url == "https://cases.example.org"
    assert site.default_language == "fr"
    assert site.languages == ("fr", "en", "nl", "de")  # the default first
    assert site.posts_dirs == ("content/post",)


def test_hugo_languages_in_content_lang_folders_mounted_by_convention(tmp_path):
    # Docsy sites mount content/<lang> per language in a module file outside the config
    root = write(tmp_path, {
        "hugo.yaml": "baseURL: https://otel.example.org\ndefaultContentLanguage: en\n"
                     "languages:\n  en: {}\n  es: {}\n  fr: {}\n",
        "content/en/blog/a.md": POST, "content/es/blog/a.md": POST,
    })
    site = detect_site(root)
    assert site.language_dirs == {"en": "content/en", "es": "content/es"}
    assert site.posts_dirs == ("content/en/blog", "content/es/blog")  # fr has no folder
    assert site.warnings == ()


def test_hugo_module_mounts_name_each_language_folder(tmp_path):
    root = write(tmp_path, {
        "hugo.toml": 'defaultContentLanguage = "en"\n[languages.en]\n[languages.de]\n'
                     '[[module.mounts]]\nsource = "docs/english"\ntarget = "content"\n'
                     'lang = "en"\n[[module.mounts]]\nsource = "docs/deutsch"\n'
                     'target = "content"\nlang = "de"\n[[module.mounts]]\n'
                     'source = "assets"\ntarget = "assets"\n',
        "docs/english/posts/a.md": POST, "docs/deutsch/posts/a.md": POST,
    })
    site = detect_site(root)
    assert site.language_dirs == {"en": "docs/english", "de": "docs/deutsch"}
    assert site.posts_dirs == ("docs/english/posts", "docs/deutsch/posts")


def test_a_people_taxonomy_is_not_read_as_tags(tmp_path):
    root = write(tmp_path, {
        "hugo.toml": '[taxonomies]\ntopic = "topics"\nauthor = "authors"\n',
        "content/posts/a.md": "---\ntitle: A\ntopics: [design]\nauthors: [ana]\n---\nBody.\n",
    })
    site = detect_site(root)
    assert site.taxonomies == ("topics", "authors")  # what the config says
    corpus = load_corpus(root, site)
    assert corpus.taxonomy == ("topics",)
    assert corpus.posts[0].tags == ("design",)
    assert load_corpus(root, site, taxonomy=("authors",)).posts[0].tags == ("ana",)


def test_hugo_posts_default_to_all_of_content_without_a_posts_section(tmp_path):
    write(tmp_path, {"hugo.toml": 'contentDir = "site/content"\n',
                     "site/content/essays/a.md": POST})
    site = detect_site(tmp_path)
    assert site.posts_dirs == ("site/content",)
    assert site.taxonomies is None  # no [taxonomies]: Hugo's defaults, "not declared"
    assert site.languages == ()
    assert site.default_language is None


def test_hugo_empty_taxonomies_table_means_no_taxonomies(tmp_path):
    write(tmp_path, {"hugo.toml": "[taxonomies]\n", "content/posts/a.md": POST})
    assert detect_site(tmp_path).taxonomies == ()


def test_hugo_page_permalinks_override_the_older_form(tmp_path):
    write(tmp_path, {
        "hugo.toml": ('[permalinks]\nposts = "/:year/:slug/"\nnotes = "/n/:slug/"\n'
                      '[permalinks.page]\nposts = "/p/:slug/"\n'
                      '[permalinks.section]\nposts = "/p/"\n'),
        "content/posts/a.md": POST,
    })
    assert detect_site(tmp_path).permalinks == {"posts": "/p/:slug/", "notes": "/n/:slug/"}


def test_hugo_config_dir_merges_production_on_top_of_default(tmp_path):
    write(tmp_path, {
        "config/_default/hugo.toml": 'baseURL = "https://staging.example.org/"\ntitle = "T"\n',
        "config/_default/params.toml": 'author = "A"\n',
        "config/production/hugo.toml": 'baseURL = "https://www.example.org/"\n',
        "content/posts/a.md": POST,
    })
    site = detect_site(tmp_path)
    assert site.base_url == "https://www.example.org"
    assert site.config_files == ("config/_default/hugo.toml", "config/_default/params.toml",
                                 "config/production/hugo.toml")


def test_hugo_reads_only_the_first_root_config(tmp_path):
    write(tmp_path, {"hugo.toml": 'baseURL = "https://new.example.org/"\n',
                     "config.toml": 'baseURL = "https://old.example.org/"\n',
                     "content/posts/a.md": POST})
    site = detect_site(tmp_path)
    assert site.base_url == "https://new.example.org"
    assert site.config_files == ("hugo.toml",)
    assert site.warnings[0].startswith("config.toml: not read; Hugo uses hugo.toml")


def test_a_root_config_toml_is_hugo_only_beside_hugo_folders(tmp_path):
    hugo = write(tmp_path / "hugo", {"config.toml": 'baseURL = "https://x.example/"\n',
                                     "content/posts/a.md": POST})
    other = write(tmp_path / "other", {"config.toml": "[tool]\nname = 'x'\n", "a.md": POST})
    assert detect_site(hugo).generator == "hugo"
    assert detect_site(other).generator == "folder"


def test_hugo_base_url_must_be_a_link_blogrec_writes(tmp_path):
    write(tmp_path, {"hugo.toml": 'baseURL = "javascript:alert(1)//"\n',
                     "content/posts/a.md": POST})
    site = detect_site(tmp_path)
    assert site.base_url is None
    assert site.warnings == ("hugo.toml: baseURL is not a URL blogrec writes (its scheme "
                             "'javascript' is not http(s)); ignored",)


def test_hugo_missing_content_folder_is_a_warning(tmp_path):
    write(tmp_path, {"hugo.toml": 'title = "No content yet"\n'})
    site = detect_site(tmp_path)
    assert site.posts_dirs == ("content",)
    assert site.warnings == ("content/: folder not found; there are no posts to read there",)


def test_hexo_wins_over_jekyll_when_source_posts_exists(tmp_path):
    write(tmp_path, {"_config.yml": "url: https://h.example\n", "source/_posts/a.md": POST,
                     "_posts/2024-01-05-a.md": POST})
    assert detect_site(tmp_path).generator == "hexo"


def test_hexo_reads_source_dir_and_root(tmp_path):
    write(tmp_path, {"_config.yml": "source_dir: src\nroot: /kb/\n", "src/_posts/a.md": POST})
    site = detect_site(tmp_path)
    assert site.generator == "hexo"
    assert site.posts_dirs == ("src/_posts",)
    assert site.data_dir == "src/_data/blogrec"
    assert site.base_url == "/kb"  # root without url: a root-relative base


def test_hexo_from_its_package_json_dependency(tmp_path):
    # a new Hexo site with no posts yet: package.json says what it is
    write(tmp_path, {"_config.yml": "url: https://new.example\n",
                     "package.json": '{"dependencies": {"hexo": "^7.0.0"}}'})
    site = detect_site(tmp_path)
    assert site.generator == "hexo"
    assert site.config_files == ("_config.yml", "package.json")
    assert site.posts_dirs == ("source/_posts",)
    assert site.warnings == ("source/_posts/: folder not found; there are no posts to read "
                             "there",)


def test_jekyll_permalink_style_names_and_defaults(tmp_path):
    pretty = write(tmp_path / "pretty", {"_config.yml": "permalink: pretty\n",
                                         "_posts/2024-01-05-a.md": POST})
    default = write(tmp_path / "default", {"_config.yml": "title: T\n",
                                           "_posts/2024-01-05-a.md": POST})
    assert detect_site(pretty).permalinks == {"*": "/:categories/:year/:month/:day/:title/"}
    # Jekyll's default style is "date"
    assert detect_site(default).permalinks == {
        "*": "/:categories/:year/:month/:day/:title:output_ext"}
    assert detect_site(default).base_url is None


def test_a_config_yml_without_posts_is_a_plain_folder(tmp_path):
    write(tmp_path, {"_config.yml": "title: T\n", "a.md": POST})
    site = detect_site(tmp_path)
    assert site.generator == "folder"
    assert site.warnings == ("_config.yml: found, but neither _posts/ nor source/_posts/ is; "
                             "read as a plain folder of posts",)


def test_astro_without_a_blog_collection_uses_every_markdown_collection(tmp_path):
    write(tmp_path, {
        "astro.config.ts": 'export default { site: "https://a.example" }\n',
        "src/content/notes/a.md": POST,
        "src/content/essays/2024/b.md": POST,
        "src/content/authors/ann.json": "{}",  # a data collection: no Markdown
    })
    site = detect_site(tmp_path)
    assert site.posts_dirs == ("src/content/essays", "src/content/notes")
    assert site.base_url == "https://a.example"


def test_astro_config_is_searched_as_text_never_run(tmp_path):
    write(tmp_path, {
        "astro.config.mjs": (
            "/* site: 'https://in-a-comment.example' */\n"
            "const docs = 'see https://docs.example // not a comment';\n"
            "export default defineConfig({\n"
            "  // base: '/commented',\n"
            '  site: "https://real.example",\n'
            "  base: `/docs/`,\n"
            "});\n"
        ),
        "src/content/blog/a.md": POST,
    })
    assert detect_site(tmp_path).base_url == "https://real.example/docs"


def test_detect_site_needs_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        detect_site(tmp_path / "missing")


# ------------------------------------------------------------------ permalinks


def test_hugo_permalinks_for_the_multilingual_fixture():
    pattern = detect_site(SITES / "hugo-multilingual").permalinks["posts"]
    assert expand_permalink(pattern, slug="compost-basics", title="Compost basics for a small "
                            "yard", date="2024-03-09", section="posts",
                            filename="compost-basics.md") == "/2024/03/compost-basics/"
    # the same slug in two years: the dates keep the URLs apart
    garlic = {year: expand_permalink(pattern, slug="planting-garlic", title="Planting garlic",
                                     date=date, section="posts",
                                     filename=f"planting-garlic-{year}.md")
              for year, date in (("2023", "2023-10-14"), ("2024", "2024-10-19"))}
    assert garlic == {"2023": "/2023/10/planting-garlic/", "2024": "/2024/10/planting-garlic/"}
    # no slug: Hugo urlizes the title, keeping non-ASCII letters; other languages get a prefix
    assert expand_permalink(pattern, slug="", title="Riego: cuándo y cuánto",
                            date="2024-05-18", section="posts",
                            filename="watering-schedule.es.md",
                            lang="es") == "/es/2024/05/riego-cuándo-y-cuánto/"


def test_hugo_permalink_tokens():
    def hugo(pattern, **kw):
        args = {"slug": "", "title": "Planning a raised bed", "date": "2024-04-06T09:30:00+02:00",
                "section": "posts", "filename": "bundle-post/index.md", **kw}
        return expand_permalink(pattern, generator="hugo", **args)

    assert hugo("/:section/:filename/") == "/posts/bundle-post/"  # a bundle: its folder
    assert hugo("/:contentbasename/") == "/bundle-post/"
    assert hugo("/:slugorfilename/") == "/bundle-post/"
    assert hugo("/:slugorfilename/", slug="Raised Bed") == "/raised-bed/"
    assert hugo("/:year/:monthname/:day/:title/") == "/2024/april/06/planning-a-raised-bed/"
    assert hugo("/:weekdayname/:yearday/") == "/saturday/97/"
    assert hugo("/:sections/:filename/", section="docs/guides",
                filename="x.es.md", lang="es") == "/es/docs/guides/x/"
    assert hugo("/:sections[last]/:slug/", section="docs/guides") == \
        "/guides/planning-a-raised-bed/"
    assert hugo("/:year/:slug/", date=None) is None  # needs a date the post lacks
    assert hugo("/:slug/", date=None) == "/planning-a-raised-bed/"


def test_jekyll_permalinks_for_the_categories_fixture():
    pattern = detect_site(SITES / "jekyll-categories").permalinks["*"]
    url = expand_permalink(pattern, slug="", title="Makefiles, revisited",
                           date="2024-09-02", section="", filename="2024-09-02-makefiles.md",
                           categories=["build", "make"], generator="jekyll")
    assert url == "/build/make/2024/09/02/makefiles/"  # baseurl is in site.base_url


def test_jekyll_styles_and_tokens():
    def jekyll(pattern, **kw):
        args = {"slug": "", "title": "ignored by :title", "date": "2023-02-14",
                "section": "", "filename": "2023-02-14-Awk_One-Liners.md",
                "categories": ["Text Tools", "awk", "text tools"], **kw}
        return expand_permalink(pattern, generator="jekyll", **args)

    # :title keeps the file name's case; :categories are lowercased and deduplicated
    assert jekyll("date") == "/text tools/awk/2023/02/14/Awk_One-Liners.html"
    assert jekyll("pretty", categories=[]) == "/2023/02/14/Awk_One-Liners/"
    assert jekyll("ordinal", categories=[]) == "/2023/045/Awk_One-Liners.html"
    assert jekyll("none", categories=[]) == "/Awk_One-Liners.html"
    assert jekyll("/:year/:i_month/:i_day/:slug/") == "/2023/2/14/awk-one-liners/"
    assert jekyll("/:short_year/:slug/", slug="Own Slug!") == "/23/own-slug/"
    assert jekyll("pretty", date=None) is None
    # without generator=, Jekyll-only tokens and style names are recognised
    assert expand_permalink("pretty", slug="", title="", date="2024-01-05", section="",
                            filename="2024-01-05-hello.md") == "/2024/01/05/hello/"


def test_hexo_permalinks_for_the_fixture():
    site = detect_site(SITES / "hexo")
    url = expand_permalink(site.permalinks["*"], slug="", title="Kimchi: getting the salt right",
                           date="2024-01-20 18:30:00", section="",
                           filename="kimchi-salt-ratio.md", generator=site.generator,
                           new_post_name=site.new_post_name)
    assert url == "/2024/01/20/kimchi-salt-ratio/"  # relative to url + root


def test_hexo_tokens():
    def hexo(pattern, **kw):
        args = {"slug": "", "title": "Crème brûlée, first try", "date": "2024-02-03",
                "section": "", "filename": "2024-02-03-creme.md", **kw}
        return expand_permalink(pattern, generator="hexo", **args)

    assert hexo(":title/") == "/2024-02-03-creme/"  # the default new_post_name, :title.md
    assert hexo(":title/", new_post_name=":year-:month-:day-:title.md") == "/creme/"
    assert hexo(":post_title.html") == "/creme-brulee-first-try.html"
    assert hexo(":category/:name/", categories=["Desserts", "French"],
                filename="sweet/creme.md") == "/Desserts/French/creme/"
    assert hexo(":category/:name/") == "/uncategorized/2024-02-03-creme/"
    assert hexo(":lang/:title/", lang="ja", filename="hello.md") == "/ja/hello/"
    assert hexo(":i_month/:i_day/:title/", filename="x.md") == "/2/3/x/"
    assert hexo(":year/:title/", date=None) is None


def test_urlizers_match_each_generator():
    assert hugo_urlize("Hello, World: Go 1.22!") == "hello-world-go-1.22"
    assert hugo_urlize("Plántulas de tomate") == "plántulas-de-tomate"
    assert hugo_urlize("構造化ログ 入門") == "構造化ログ-入門"
    assert jekyll_slugify("Hello, World: Go 1.22!") == "hello-world-go-1-22"
    assert jekyll_slugify("Hello, World", pretty=True, cased=True) == "Hello,-World"
    assert hexo_slugize("Crème brûlée: a test", lower=True) == "creme-brulee-a-test"
    assert hexo_slugize("ガーデン日記") == "ガーデン日記"  # voiced kana are not "accents"


# ------------------------------------------------------------------ bad configs


@pytest.mark.parametrize("name,generator,warning", [
    ("hugo-bad-toml", "hugo",
     "hugo.toml: cannot parse (Invalid value (at line 3, column 11)); using Hugo's defaults"),
    ("hugo-bad-json", "hugo", "hugo.json: cannot parse (Expecting property name"),
    ("hugo-baseurl-number", "hugo", "hugo.toml: baseURL is a number, not a string; ignored"),
    ("hugo-languages-string", "hugo",
     "hugo.toml: languages is a string, not a table; ignored"),
    ("hugo-taxonomies-list", "hugo", "hugo.toml: taxonomies is a list, not a table; ignored"),
    ("hugo-contentdir-outside", "hugo",
     "hugo.toml: contentDir '../../../etc' is not a folder inside the site; ignored"),
    ("hugo-top-level-list", "hugo",
     "hugo.yaml: the top level is a list, not a mapping of keys to values; using Hugo's"),
    ("hugo-python-tag", "hugo", "hugo.yaml: cannot parse (could not determine a constructor "
                                "for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    ("hugo-config-dir-one-bad", "hugo",
     "config/_default/languages.toml: cannot parse (Expected ']' at the end of a table "
     "declaration (at line 3, column 4)); the file is ignored"),
    ("jekyll-alias-bomb", "jekyll", "_config.yml: cannot parse (more than 100000 values, "
                                    "counting YAML aliases expanded); using Jekyll's defaults"),
    ("jekyll-alias-loop", "jekyll", "_config.yml: cannot parse (nested more than 50 levels "
                                    "deep, or an alias refers to itself)"),
    ("jekyll-bad-yaml", "jekyll", "_config.yml: cannot parse (while parsing a flow sequence"),
    ("hexo-wrong-types", "hexo", "_config.yml: url is a number, not a string; ignored"),
])
def test_a_bad_config_is_a_warning_and_the_defaults(name, generator, warning):
    started = time.perf_counter()
    site = detect_site(BAD / name)
    assert time.perf_counter() - started < 1.0
    assert site.generator == generator
    assert any(w.startswith(warning) for w in site.warnings), site.warnings
    assert site.posts_dirs == {"hugo": ("content/posts",), "jekyll": ("_posts",),
                               "hexo": ("source/_posts",)}[generator]


def test_bad_configs_keep_what_they_can_and_use_defaults_for_the_rest():
    # one bad key costs that key only
    number = detect_site(BAD / "hugo-baseurl-number")
    assert number.base_url is None
    assert number.permalinks == {"posts": "/:year/:slug/"}
    assert detect_site(BAD / "hugo-languages-string").languages == ()
    assert detect_site(BAD / "hugo-contentdir-outside").posts_dirs == ("content/posts",)
    # one bad file in config/_default costs that file only
    one_bad = detect_site(BAD / "hugo-config-dir-one-bad")
    assert one_bad.config_files == ("config/_default/hugo.toml",)
    assert one_bad.base_url == "https://dir.example.org"
    assert one_bad.languages == ()
    # a file that cannot be parsed: the generator's defaults
    bad_toml = detect_site(BAD / "hugo-bad-toml")
    assert (bad_toml.config_files, bad_toml.base_url, bad_toml.permalinks) == ((), None, {})
    hexo = detect_site(BAD / "hexo-wrong-types")
    assert hexo.permalinks == {"*": ":year/:month/:day/:title/"}
    assert hexo.warnings[1] == "_config.yml: permalink is a list, not a string; ignored"
    bomb = detect_site(BAD / "jekyll-alias-bomb")
    assert bomb.base_url is None  # the `url` after the bomb is not used either
    assert bomb.permalinks == {"*": "/:categories/:year/:month/:day/:title:output_ext"}


def test_nothing_in_a_config_is_ever_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yaml_site = detect_site(BAD / "hugo-python-tag")
    astro = detect_site(BAD / "astro-no-literal")
    assert yaml_site.base_url is None
    # `site: process.env.SITE_URL` and a `${}` template are not literals: no base URL
    assert astro.base_url is None and astro.warnings == ()
    for folder in (tmp_path, BAD / "hugo-python-tag", BAD / "astro-no-literal"):
        assert not list(folder.glob("PWNED*"))


def test_a_config_over_2_mb_is_not_read(tmp_path):
    write(tmp_path, {"hugo.toml": "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1),
                     "content/posts/a.md": POST})
    site = detect_site(tmp_path)
    assert site.config_files == ()
    assert site.warnings[0].startswith("hugo.toml: larger than 2 MB (2097160 bytes); not read")


def test_many_yaml_aliases_are_refused_before_loading(tmp_path):
    aliases = ", ".join(["*x"] * 200)
    write(tmp_path, {"_config.yml": f"x: &x [a, b]\ny: [{aliases}]\n",
                     "_posts/2024-01-05-a.md": POST})
    started = time.perf_counter()
    site = detect_site(tmp_path)
    assert time.perf_counter() - started < 1.0
    assert site.warnings == ("_config.yml: uses more than 100 YAML aliases; not read; using "
                             "Jekyll's defaults",)


@pytest.mark.parametrize("name,text,reason", [
    ("_config.yml", "a: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 50 levels"),
    ("_config.yml", "url: https://x\n" + "d: 2021-02-30\n", "cannot parse (day is out of"),
    ("_config.yml", "a: 1\n---\nb: 2\n", "cannot parse (expected a single document"),
])
def test_hostile_yaml(tmp_path, name, text, reason):
    write(tmp_path, {name: text, "_posts/2024-01-05-a.md": POST})
    site = detect_site(tmp_path)
    assert site.generator == "jekyll"
    assert reason in site.warnings[0]


@pytest.mark.parametrize("name,content", [
    ("hugo.json", "[" * 100_000),
    ("hugo.toml", "a = " + "[" * 100_000),
    ("hugo.toml", b"title = '\xff\xfe'\n"),
])
def test_deep_or_undecodable_configs_are_warnings(tmp_path, name, content):
    write(tmp_path, {name: content, "content/posts/a.md": POST})
    site = detect_site(tmp_path)
    assert site.generator == "hugo"
    assert site.warnings[0].startswith(f"{name}: ")
    assert site.warnings[0].endswith("; using Hugo's defaults")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_config_that_is_not_a_regular_file_is_not_opened(tmp_path):
    write(tmp_path, {"content/posts/a.md": POST})
    os.mkfifo(tmp_path / "hugo.toml")  # opening a FIFO would block forever
    site = detect_site(tmp_path)
    assert site.warnings == ("hugo.toml: not a regular file; not read; using Hugo's defaults",)


def test_an_empty_config_is_a_valid_one(tmp_path):
    write(tmp_path, {"hugo.yaml": "", "content/posts/a.md": POST})
    site = detect_site(tmp_path)
    assert (site.config_files, site.warnings) == (("hugo.yaml",), ())


def test_site_is_a_frozen_value():
    site = detect_site(SITES / "zenn")
    assert isinstance(site, Site)
    with pytest.raises(AttributeError):
        site.generator = "hugo"  # type: ignore[misc]
