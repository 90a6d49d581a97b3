/*
 * blogrec "For you": recommendations on a static site, computed in the reader's browser.
 *
 * - The reader's history (slugs of the posts they opened) is kept in localStorage under
 *   "blogrec:history" (at most 50, most recent last). It is never sent anywhere: this
 *   script makes no request except loading vectors.json from your own site.
 * - Interests = the mean of the (dequantised, L2-normalised) vectors of the posts read.
 * - Unread posts are ranked by cosine to that mean; equal scores keep vectors.json order.
 *
 * vectors.json ("blogrec/vectors" v1): {dim, posts: [{slug, title, date, url?, path,
 * tags, scale, vector}]} where vector is base64 of dim int8 values q, x ~= scale * q.
 *
 * Use: <section id="blogrec-foryou" data-current="SLUG" data-vectors="/data/vectors.json"
 *      data-n="5" data-href="/posts/{slug}/"></section><script src="foryou.js" defer>
 * data-current: the post being read (recorded, never recommended); empty on other pages.
 * data-exclude: a JSON array of slugs not to suggest (e.g. the related posts shown beside).
 * data-href: link pattern when a post has no url ({slug} is replaced); window.BLOGREC_PAGES
 * ({slug: href}) overrides both; window.BLOGREC_VECTORS (the JSON as an object) avoids
 * the fetch, e.g. for pages opened from file://.
 */
(function (global) {
  "use strict";

  var HISTORY_KEY = "blogrec:history";
  var MAX_HISTORY = 50;

  function storage() {
    try {
      return global.localStorage || null;
    } catch (e) {
      return null; // storage disabled: recommendations simply stay empty
    }
  }

  function readHistory() {
    var s = storage();
    if (!s) return [];
    try {
      var h = JSON.parse(s.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(h) ? h.filter(function (x) { return typeof x === "string"; }) : [];
    } catch (e) {
      return [];
    }
  }

  function writeHistory(history) {
    var s = storage();
    if (!s) return;
    try {
      s.setItem(HISTORY_KEY, JSON.stringify(history.slice(-MAX_HISTORY)));
    } catch (e) {
      /* quota or privacy mode: ignore */
    }
  }

  function recordRead(slug) {
    if (!slug) return readHistory();
    var h = readHistory().filter(function (x) { return x !== slug; });
    h.push(slug);
    writeHistory(h);
    return readHistory();
  }

  function clearHistory() {
    var s = storage();
    if (s) s.removeItem(HISTORY_KEY);
  }

  function decodeVector(b64, scale, dim) {
    var bin = global.atob(b64);
    var n = Math.min(dim || bin.length, bin.length);
    var v = new Float32Array(n);
    var norm = 0;
    for (var i = 0; i < n; i++) {
      var b = bin.charCodeAt(i);
      var q = b > 127 ? b - 256 : b; // int8
      v[i] = q * scale;
      norm += v[i] * v[i];
    }
    norm = Math.sqrt(norm);
    if (norm > 0) for (var j = 0; j < n; j++) v[j] /= norm;
    return v;
  }

  /* Decode every post once: [{post, vec}] in vectors.json order. */
  function index(data) {
    var dim = data.dim || 0;
    return (data.posts || []).map(function (p) {
      return { post: p, vec: decodeVector(p.vector || "", Number(p.scale) || 0, dim) };
    });
  }

  function dot(a, b) {
    var s = 0;
    var n = Math.min(a.length, b.length);
    for (var i = 0; i < n; i++) s += a[i] * b[i];
    return s;
  }

  /* Mean of the read posts' unit vectors, normalised; null when nothing read is known. */
  function profile(items, history) {
    var bySlug = {};
    items.forEach(function (it) { bySlug[it.post.slug] = it; });
    var mean = null;
    var count = 0;
    history.forEach(function (slug) {
      var it = bySlug[slug];
      if (!it) return;
      if (!mean) mean = new Float32Array(it.vec.length);
      for (var i = 0; i < mean.length; i++) mean[i] += it.vec[i];
      count++;
    });
    if (!count) return null;
    var norm = Math.sqrt(dot(mean, mean));
    if (!(norm > 0)) return null;
    for (var i = 0; i < mean.length; i++) mean[i] /= norm;
    return mean;
  }

  /* Top n unread posts by cosine to the profile: [{post, score}]. */
  function recommend(items, history, n, exclude) {
    var p = profile(items, history);
    if (!p) return [];
    var skip = {};
    history.concat(exclude || []).forEach(function (s) { skip[s] = true; });
    var scored = [];
    items.forEach(function (it, i) {
      if (skip[it.post.slug]) return;
      scored.push({ post: it.post, score: dot(p, it.vec), order: i });
    });
    scored.sort(function (a, b) { return b.score - a.score || a.order - b.order; });
    return scored.slice(0, n);
  }

  function safeHref(href) {
    // Only http(s), root-relative or relative links: never javascript: or data: URLs.
    // Browsers drop tabs and newlines inside a URL and blanks around it before they read
    // the scheme ("java\tscript:" is javascript:), so the check does the same.
    if (typeof href !== "string" || !href) return null;
    var t = href.replace(/[\t\n\r]/g, "").replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "");
    if (!t || /[\x00-\x1f\x7f]/.test(t)) return null;
    var scheme = /^([a-z][a-z0-9+.-]*):/i.exec(t);
    if (scheme && !/^https?$/i.test(scheme[1])) return null;
    return t;
  }

  function hrefFor(post, pattern) {
    var pages = global.BLOGREC_PAGES;
    if (pages && Object.prototype.hasOwnProperty.call(pages, post.slug)) {
      return safeHref(pages[post.slug]);
    }
    if (post.url) return safeHref(post.url);
    if (pattern) return safeHref(pattern.split("{slug}").join(encodeURIComponent(post.slug)));
    return null;
  }

  /* Fill `list` (an <ol>/<ul>) with links; text only via textContent (no HTML injection). */
  function render(list, recs, pattern) {
    var doc = list.ownerDocument;
    while (list.firstChild) list.removeChild(list.firstChild);
    recs.forEach(function (r) {
      var li = doc.createElement("li");
      var href = hrefFor(r.post, pattern);
      var a = doc.createElement(href ? "a" : "span");
      if (href) a.setAttribute("href", href);
      a.textContent = r.post.title || r.post.slug;
      a.className = "blogrec-foryou-link";
      a.setAttribute("data-slug", r.post.slug);
      li.appendChild(a);
      if (r.post.tags && r.post.tags.length) {
        var tags = doc.createElement("span");
        tags.className = "blogrec-tags";
        tags.textContent = " " + r.post.tags.join(", ");
        li.appendChild(tags);
      }
      li.setAttribute("data-score", r.score.toFixed(4));
      list.appendChild(li);
    });
  }

  function parseList(text) {
    try {
      var v = JSON.parse(text || "[]");
      return Array.isArray(v) ? v.filter(function (x) { return typeof x === "string"; }) : [];
    } catch (e) {
      return [];
    }
  }

  function loadData(url) {
    if (global.BLOGREC_VECTORS) return Promise.resolve(global.BLOGREC_VECTORS);
    if (!url || !global.fetch) return Promise.reject(new Error("no vectors"));
    return global.fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("vectors: HTTP " + r.status);
      return r.json();
    });
  }

  function init(box) {
    box = box || global.document.getElementById("blogrec-foryou");
    if (!box) return Promise.resolve([]);
    var current = box.getAttribute("data-current") || "";
    var n = parseInt(box.getAttribute("data-n") || "5", 10) || 5;
    var pattern = box.getAttribute("data-href") || "";
    var history = current ? recordRead(current) : readHistory();
    var list = box.querySelector("ol, ul");
    if (!list) {
      list = global.document.createElement("ol");
      box.appendChild(list);
    }
    var empty = box.querySelector(".blogrec-foryou-empty");
    var forget = box.querySelector(".blogrec-foryou-forget");
    if (forget) {
      forget.addEventListener("click", function () {
        clearHistory();
        render(list, [], pattern);
        if (empty) empty.hidden = false;
        box.setAttribute("data-state", "empty");
      });
    }
    return loadData(box.getAttribute("data-vectors")).then(function (data) {
      var exclude = parseList(box.getAttribute("data-exclude"));
      if (current) exclude.push(current);
      var recs = recommend(index(data), history, n, exclude);
      render(list, recs, pattern);
      if (empty) empty.hidden = recs.length > 0;
      box.setAttribute("data-state", recs.length ? "ready" : "empty");
      return recs;
    }).catch(function (err) {
      box.setAttribute("data-state", "error");
      if (global.console) global.console.warn("blogrec for-you:", err);
      return [];
    });
  }

  global.BlogrecForYou = {
    HISTORY_KEY: HISTORY_KEY,
    readHistory: readHistory,
    recordRead: recordRead,
    clearHistory: clearHistory,
    decodeVector: decodeVector,
    safeHref: safeHref,
    index: index,
    profile: profile,
    recommend: recommend,
    init: init,
  };

  if (global.document) {
    if (global.document.readyState === "loading") {
      global.document.addEventListener("DOMContentLoaded", function () { init(); });
    } else {
      init();
    }
  }
})(typeof window !== "undefined" ? window : this);
