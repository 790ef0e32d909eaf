"use strict";
// Tabs and the sample browser. All text goes into the page through textContent: answers are data, never markup.
(function () {
  var PAGE = 20;
  var VERDICT = { r: ["正解", "right"], w: ["不正解", "wrong"], e: ["エラー", "error"], p: ["採点待ち", "pending"] };
  var data = JSON.parse(document.getElementById("browser-data").textContent);
  var nav = document.getElementById("nav");
  var links = nav.querySelectorAll("a[data-section]");

  function show(id) {
    var found = false;
    for (var i = 0; i < links.length; i++) {
      var on = links[i].getAttribute("data-section") === id;
      links[i].classList.toggle("active", on);
      document.getElementById(links[i].getAttribute("data-section")).classList.toggle("shown", on);
      found = found || on;
    }
    if (!found && links.length) show(links[0].getAttribute("data-section"));
  }
  document.body.classList.add("tabs");
  nav.addEventListener("click", function (ev) {
    var a = ev.target.closest("a[data-section]");
    if (!a) return;
    ev.preventDefault();
    show(a.getAttribute("data-section"));
    history.replaceState(null, "", "#" + a.getAttribute("data-section"));
    window.scrollTo(0, 0);
  });
  show((location.hash || "#summary").slice(1));

  // the browser: answers grouped by item, filtered, one page in the DOM at a time
  var configModel = [], configPreset = [];
  data.configs.forEach(function (c) {
    var at = c.lastIndexOf(":");
    configModel.push(c.slice(0, at));
    configPreset.push(c.slice(at + 1));
  });
  var byItem = new Array(data.items.length);
  data.answers.forEach(function (a) {
    (byItem[a[0]] = byItem[a[0]] || []).push(a);
  });
  function fill(id, values) {
    var sel = document.getElementById(id);
    values.forEach(function (v) {
      var o = document.createElement("option");
      o.value = v;
      o.textContent = v;
      sel.appendChild(o);
    });
  }
  function uniq(xs) {
    return xs.filter(function (x, i) { return xs.indexOf(x) === i; }).sort();
  }
  fill("f-suite", data.suites);
  fill("f-model", uniq(configModel.slice()));
  fill("f-preset", uniq(configPreset.slice()));

  var state = { page: 0, matches: [] };
  function value(id) { return document.getElementById(id).value; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function answerMatches(a, f) {
    return (!f.model || configModel[a[1]] === f.model) && (!f.preset || configPreset[a[1]] === f.preset) &&
      (!f.verdict || a[2] === f.verdict);
  }
  function filter() {
    var f = { suite: value("f-suite"), model: value("f-model"), preset: value("f-preset"), verdict: value("f-verdict"),
              item: value("f-item").trim(), text: value("f-text").trim().toLowerCase() };
    var suiteIndex = f.suite ? data.suites.indexOf(f.suite) : -1;
    var out = [];
    for (var i = 0; i < data.items.length; i++) {
      var it = data.items[i];
      if (suiteIndex >= 0 && it[0] !== suiteIndex) continue;
      if (f.item && String(it[1]) !== f.item) continue;
      var answers = (byItem[i] || []).filter(function (a) { return answerMatches(a, f); });
      if (!answers.length) continue;
      if (f.text && it[3].toLowerCase().indexOf(f.text) < 0 &&
          !answers.some(function (a) { return a[4].toLowerCase().indexOf(f.text) >= 0; })) continue;
      out.push([i, answers]);
    }
    state.matches = out;
    state.page = 0;
    render();
  }
  function render() {
    var box = document.getElementById("items");
    box.textContent = "";
    var pages = Math.max(1, Math.ceil(state.matches.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    var slice = state.matches.slice(state.page * PAGE, (state.page + 1) * PAGE);
    slice.forEach(function (m) {
      var it = data.items[m[0]];
      var card = el("div", "item");
      card.setAttribute("data-item", it[1]);
      card.appendChild(el("div", "head", data.suites[it[0]] + " ・ 設問 " + it[1] + (it[2] ? " ・ 繰り返し " + it[2] : "")));
      var prompt = el("div", "prompt");
      prompt.appendChild(el("pre", null, it[3]));
      card.appendChild(prompt);
      if (it[4] || it[5]) {
        card.appendChild(el("div", "ref", (it[4] ? "正解・参考：" + it[4] : "") + (it[5] ? "　観点：" + it[5] : "")));
      }
      var grid = el("div", "answers");
      m[1].forEach(function (a) {
        var box = el("div", "answer");
        box.setAttribute("data-verdict", a[2]);
        var who = el("div", "who", data.configs[a[1]] + " ");
        var v = VERDICT[a[2]];
        who.appendChild(el("span", "badge " + v[1], v[0] + (a[3] === null ? "" : " " + a[3])));
        box.appendChild(who);
        box.appendChild(el("pre", "out", a[4] || (a[6] ? "" : "（空の回答）")));
        if (a[5]) box.appendChild(el("div", "muted", "解析結果：" + a[5]));
        if (a[6]) box.appendChild(el("div", "muted", "エラー：" + a[6]));
        grid.appendChild(box);
      });
      card.appendChild(grid);
      box.appendChild(card);
    });
    if (!slice.length) box.appendChild(el("p", "muted", "条件に合うサンプルがありません。"));
    document.getElementById("page-info").textContent =
      (state.page + 1) + " / " + pages + " ページ（設問 " + state.matches.length + " 件）";
    ["prev", "prev2"].forEach(function (id) { document.getElementById(id).disabled = state.page === 0; });
    ["next", "next2"].forEach(function (id) { document.getElementById(id).disabled = state.page >= pages - 1; });
  }
  function step(d) {
    return function () { state.page += d; render(); };
  }
  ["prev", "prev2"].forEach(function (id) { document.getElementById(id).addEventListener("click", step(-1)); });
  ["next", "next2"].forEach(function (id) { document.getElementById(id).addEventListener("click", step(1)); });
  ["f-suite", "f-model", "f-preset", "f-verdict"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", filter);
  });
  ["f-item", "f-text"].forEach(function (id) { document.getElementById(id).addEventListener("input", filter); });
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("button.goto");
    if (!b) return;
    document.getElementById("f-suite").value = b.getAttribute("data-suite");
    document.getElementById("f-item").value = b.getAttribute("data-item");
    ["f-model", "f-preset", "f-verdict", "f-text"].forEach(function (id) { document.getElementById(id).value = ""; });
    filter();
    show("samples");
    history.replaceState(null, "", "#samples");
  });
  filter();
})();
