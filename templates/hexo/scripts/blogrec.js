/* global hexo */
/*
 * blogrec: "Related posts" helper for Hexo, from blogrec's related.json.
 *
 * Data file: source/_data/blogrec/related.json by default, i.e. build with
 *     blogrec build source/_posts --out source/_data/blogrec
 * (another place: `blogrec: {related: path/from/site/root.json}` in _config.yml).
 * Copy this file to scripts/blogrec.js (Hexo loads every file in scripts/), then in a
 * post layout:   EJS      <%- blogrec_related(page) %>
 *                Nunjucks {{ blogrec_related(page) | safe }}
 *
 * The post is found by its source file (related.json's `path`, relative to _posts, or
 * to the site root: source/_posts/...), else, on a multilingual blog (related.json has
 * `languages`) and a page with a language (`page.lang`, else `page.language`), by
 * languages[lang][slug], else by its slug (never an entry of another language).
 * A related post links to its `url` when the post set permalink/url, else to
 * the Hexo post whose source is _posts/<path>; a `url` with another scheme than http(s)
 * (javascript:, data:...) is never linked. Titles are HTML-escaped.
 */
"use strict";

const fs = require("fs");
const path = require("path");

const options = (hexo.config && hexo.config.blogrec) || {};
const dataFile = path.resolve(
  hexo.base_dir || ".",
  options.related || path.join("source", "_data", "blogrec", "related.json"),
);

let cache = { mtimeMs: -1, posts: {}, byPath: {}, languages: {} };

function load() {
  let stat;
  try {
    stat = fs.statSync(dataFile);
  } catch (e) {
    return cache; // no related.json yet: render nothing
  }
  if (stat.mtimeMs !== cache.mtimeMs) {
    const doc = JSON.parse(fs.readFileSync(dataFile, "utf8"));
    const posts = (doc && doc.posts) || {};
    const byPath = {};
    Object.keys(posts).forEach((slug) => {
      if (posts[slug].path) byPath[sourceKey(posts[slug].path)] = posts[slug];
    });
    cache = { mtimeMs: stat.mtimeMs, posts, byPath, languages: (doc && doc.languages) || {} };
  }
  return cache;
}

function escapeHTML(s) {
  return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

// Only http(s), protocol-relative, root-relative or relative URLs: never javascript:,
// data: or any other scheme. Browsers drop tabs and newlines inside a URL and blanks
// around it before reading the scheme, so the check does too.
function safeUrl(url) {
  if (typeof url !== "string") return null;
  const t = url.replace(/[\t\n\r]/g, "").replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "");
  if (!t || /[\x00-\x1f\x7f]/.test(t)) return null;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(t);
  if (scheme && !/^https?$/i.test(scheme[1])) return null;
  return t;
}

// A source file relative to _posts, from Hexo's `source` (_posts/...) or a path that
// blogrec read from the site root (source/_posts/...).
function sourceKey(source) {
  return String(source || "").replace(/\\/g, "/").replace(/^(source\/)?_posts\//, "");
}

function entryOf(page, data) {
  const found = data.byPath[sourceKey(page.source)];
  if (found) return found;
  const lang = page.lang || page.language;
  const keys = lang && data.languages[lang];
  if (keys && Object.prototype.hasOwnProperty.call(keys, page.slug)) {
    const entry = data.posts[keys[page.slug]];
    if (entry) return entry;
  }
  const bySlug = data.posts[page.slug];
  return bySlug && (!bySlug.lang || !lang || bySlug.lang === lang) ? bySlug : null;
}

function blogrecRelated(post) {
  const page = post || this.page || {};
  const data = load();
  const entry = entryOf(page, data);
  if (!entry || !entry.related || !entry.related.length) return "";
  const bySource = {};
  const all = hexo.locals.get("posts");
  (all && all.toArray ? all.toArray() : all || []).forEach((p) => {
    bySource[sourceKey(p.source)] = p;
  });
  const urlFor = this.url_for ? this.url_for.bind(this) : (u) => u;
  const items = entry.related.map((rel) => {
    let href = null;
    const url = safeUrl(rel.url);
    if (url) href = urlFor(url);
    else if (bySource[sourceKey(rel.path)]) href = urlFor(bySource[sourceKey(rel.path)].path);
    const title = escapeHTML(rel.title);
    const link = href ? `<a href="${escapeHTML(href)}">${title}</a>` : title;
    const date = rel.date
      ? ` <time datetime="${escapeHTML(rel.date)}">${escapeHTML(String(rel.date).slice(0, 10))}</time>`
      : "";
    return `    <li>${link}${date}</li>`;
  });
  return [
    '<aside class="blogrec-related">',
    "  <h2>Related posts</h2>",
    "  <ul>",
    ...items,
    "  </ul>",
    "</aside>",
  ].join("\n");
}

hexo.extend.helper.register("blogrec_related", blogrecRelated);
