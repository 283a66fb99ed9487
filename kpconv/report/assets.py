"""The page's stylesheet and script, inlined into ``index.html`` (no build step, no network).

The script reads the findings from the JSON blob in the page and renders the table a page at a
time; the first rows are in the HTML already, so the table is readable without it.
"""

from __future__ import annotations

CSS = """
:root{--err:#c0147e;--warn:#a67800;--info:#555;--line:#ddd;font-family:system-ui,sans-serif}
body{margin:0 auto;max-width:1200px;padding:1rem;color:#222;line-height:1.35}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid var(--line)}
.verdict{display:inline-block;padding:.2rem .7rem;border-radius:4px;font-weight:700;color:#fff}
.verdict.ok{background:#2a8a4a}.verdict.errors{background:var(--err)}.verdict.warnings{background:var(--warn)}
table{border-collapse:collapse;font-size:.85rem}th,td{border-bottom:1px solid var(--line);padding:.25rem .45rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.sev-error{color:var(--err);font-weight:600}.sev-warning{color:var(--warn);font-weight:600}.sev-info{color:var(--info)}
code{font-size:.8rem;word-break:break-all}
.charts{display:flex;flex-wrap:wrap;gap:1.2rem;align-items:flex-start}.charts figure{margin:0}
figcaption{font-size:.8rem;color:#555}
.heat{display:flex;flex-wrap:wrap;gap:.4rem}.heat figure{width:76px}.heat img{width:72px;height:72px;image-rendering:pixelated;border:1px solid #999}
form.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin:.5rem 0}
form.filters label{display:flex;flex-direction:column;font-size:.8rem}
th button{font:inherit;font-weight:700;background:none;border:0;padding:0;cursor:pointer}
tr:target,tr.open{background:#fff6d8}tr.detail td{background:#fafafa}
tr.detail img{max-width:100%;min-width:256px;image-rendering:auto;border:1px solid #999}
.gallery{display:flex;flex-wrap:wrap;gap:.6rem}.gallery figure{margin:0;width:180px}
.gallery img{width:180px;height:135px;object-fit:contain;background:#3a3a3a}
.muted{color:#666;font-size:.85rem}
"""

JS = r"""
(function () {
  "use strict";
  var blob = document.getElementById("report-data");
  if (!blob) { return; }
  var data = JSON.parse(blob.textContent);
  var rows = data.findings, pics = data.pictures, PAGE = 200;
  // a row: [index, severity, code, message, pointer, source, image_id, annotation_id, file_name, category, picture, mark]
  var state = {sev: "", code: "", cat: "", name: "", sort: 0, dir: 1, shown: PAGE, open: -1};
  var tbody = document.getElementById("findings-body");
  var counter = document.getElementById("shown-count");
  var more = document.getElementById("show-more");
  var form = document.getElementById("filters");
  var SEV_RANK = {error: 0, warning: 1, info: 2};

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function filtered() {
    var name = state.name.toLowerCase();
    var out = rows.filter(function (r) {
      return (!state.sev || r[1] === state.sev) && (!state.code || r[2] === state.code) &&
        (!state.cat || r[9] === state.cat) && (!name || String(r[8] || "").toLowerCase().indexOf(name) >= 0);
    });
    var k = state.sort, d = state.dir;
    if (k !== 0) {
      out.sort(function (a, b) {
        var x = k === 1 ? SEV_RANK[a[1]] : a[k], y = k === 1 ? SEV_RANK[b[1]] : b[k];
        if (x === y) { return a[0] - b[0]; }
        if (x === null || x === undefined) { return 1; }
        if (y === null || y === undefined) { return -1; }
        return (x < y ? -1 : 1) * d;
      });
    } else if (d < 0) { out.reverse(); }
    return out;
  }
  function row(r) {
    var tr = el("tr"); tr.id = "f" + r[0];
    var a = el("a", "#" + (r[0] + 1)); a.href = "#f" + r[0]; a.title = "open this finding (permalink)";
    var td = el("td"); td.appendChild(a); tr.appendChild(td);
    tr.appendChild(el("td", r[1], "sev-" + r[1]));
    var c = el("td"); c.appendChild(el("code", r[2])); tr.appendChild(c);
    tr.appendChild(el("td", r[3]));
    var p = el("td"); p.appendChild(el("code", r[4] || "/")); if (r[5]) { p.appendChild(el("div", r[5], "muted")); } tr.appendChild(p);
    tr.appendChild(el("td", r[8] === null ? "" : r[8] + (r[6] === null ? "" : " (id " + r[6] + ")")));
    tr.appendChild(el("td", r[7] === null ? "" : (r[9] ? r[9] + " " : "") + "id " + r[7]));
    return tr;
  }
  function detail(r) {
    var tr = el("tr", null, "detail"), td = el("td"); td.colSpan = 7; tr.appendChild(td);
    var pic = r[10] >= 0 ? pics[r[10]] : null;
    if (pic && pic.src) {
      var fig = el("figure"), img = el("img"); img.src = pic.src;
      img.alt = "image " + r[8] + " with the instance drawn; this finding is number " + r[11];
      fig.appendChild(img);
      fig.appendChild(el("figcaption", r[8] + ": finding " + r[11] + " of " + pic.findings + " on this image" +
        " (v=2 filled, v=1 hollow)"));
      td.appendChild(fig);
    } else {
      td.appendChild(el("p", pic && pic.note ? pic.note : (r[6] === null ? "this finding is not about one image" :
        "no picture: run kpconv report with --images DIR (at most --max-images pictures are drawn)"), "muted"));
    }
    return tr;
  }
  function render() {
    var list = filtered(), frag = document.createDocumentFragment();
    var n = Math.min(state.shown, list.length);
    for (var i = 0; i < n; i++) {
      frag.appendChild(row(list[i]));
      if (list[i][0] === state.open) { frag.lastChild.className = "open"; frag.appendChild(detail(list[i])); }
    }
    tbody.replaceChildren(frag);
    counter.textContent = "showing " + n + " of " + list.length + " findings (" + rows.length + " in all)";
    more.hidden = n >= list.length;
  }
  function openFromHash() {
    var m = /^#f(\d+)$/.exec(location.hash);
    if (!m) { return; }
    var idx = Number(m[1]);
    if (idx >= rows.length) { return; }
    state.open = idx;
    var list = filtered(), pos = list.findIndex(function (r) { return r[0] === idx; });
    if (pos < 0) {  // filtered out: clear the filters so the linked finding shows
      state.sev = state.code = state.cat = state.name = ""; form.reset(); list = filtered();
      pos = list.findIndex(function (r) { return r[0] === idx; });
    }
    if (pos >= state.shown) { state.shown = pos + 1; }
    render();
    var tr = document.getElementById("f" + idx);
    if (tr) { tr.scrollIntoView({block: "center"}); }
  }
  form.addEventListener("input", function () {
    state.sev = form.elements.severity.value; state.code = form.elements.code.value;
    state.cat = form.elements.category.value; state.name = form.elements.image.value;
    state.shown = PAGE; render();
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  more.addEventListener("click", function () { state.shown += PAGE * 5; render(); });
  Array.prototype.forEach.call(document.querySelectorAll("th[data-col] button"), function (b) {
    b.addEventListener("click", function () {
      var th = b.parentNode, col = Number(th.getAttribute("data-col"));
      state.dir = state.sort === col ? -state.dir : 1; state.sort = col;
      document.querySelectorAll("th[data-col]").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      render();
    });
  });
  window.addEventListener("hashchange", openFromHash);
  form.hidden = false;
  render();
  openFromHash();
})();
"""
