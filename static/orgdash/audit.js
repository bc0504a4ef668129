// Audit log tab: loads /api/v1/audit/ with the filters in the form, one page at a time.
// Text is only ever inserted with textContent, so no recorded value can become markup.
(function () {
  "use strict";

  var app = document.getElementById("audit-app");
  if (!app) return;
  var apiRoot = app.dataset.apiRoot || "/api/v1/";
  var pageSize = parseInt(app.dataset.pageSize, 10) || 50;
  var form = document.getElementById("audit-filters");
  var rows = document.getElementById("audit-rows");
  var range = document.getElementById("audit-range");
  var prev = document.getElementById("audit-prev");
  var next = document.getElementById("audit-next");
  var errorBox = document.getElementById("audit-error");
  var exportLink = document.getElementById("audit-export");
  var FILTERS = ["action", "actor", "target", "since", "until"];
  var page = 1;
  var request = 0;

  function filterParams() {
    var params = new URLSearchParams();
    FILTERS.forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    });
    return params;
  }

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function formatTime(iso) {
    // "2026-11-20T13:04:00.123Z" -> "2026-11-20 13:04:00"
    return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", "") : "";
  }

  function render(data) {
    rows.textContent = "";
    if (!data.results.length) {
      var empty = document.createElement("tr");
      empty.appendChild(cell("No audit events match these filters.", "muted"));
      empty.firstChild.colSpan = 5;
      rows.appendChild(empty);
    }
    data.results.forEach(function (event) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(formatTime(event.time), "audit-time"));
      tr.appendChild(cell(event.actor || "system"));
      var action = cell("");
      var badge = document.createElement("span");
      badge.className = "audit-action";
      badge.textContent = event.action;
      action.appendChild(badge);
      tr.appendChild(action);
      tr.appendChild(cell(event.target || ""));
      tr.appendChild(cell(event.ip_address || "", "audit-ip"));
      rows.appendChild(tr);
    });
    var first = data.count ? (page - 1) * pageSize + 1 : 0;
    var last = (page - 1) * pageSize + data.results.length;
    range.textContent = data.count ? first + "–" + last + " of " + data.count : "0 events";
    prev.disabled = !data.previous;
    next.disabled = !data.next;
    rows.setAttribute("aria-busy", "false");
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    rows.setAttribute("aria-busy", "false");
  }

  function load() {
    var params = filterParams();
    exportLink.href = apiRoot + "audit/export.csv" + (params.toString() ? "?" + params.toString() : "");
    params.set("page", String(page));
    params.set("page_size", String(pageSize));
    var mine = ++request;
    rows.setAttribute("aria-busy", "true");
    errorBox.hidden = true;
    fetch(apiRoot + "audit/?" + params.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.detail || "The audit log could not be loaded.");
          return body;
        });
      })
      .then(function (data) {
        if (mine === request) render(data);
      })
      .catch(function (error) {
        if (mine === request) showError(error.message || "The audit log could not be loaded.");
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    page = 1;
    load();
  });
  form.addEventListener("reset", function () {
    // After the browser has cleared the fields.
    window.setTimeout(function () {
      page = 1;
      load();
    }, 0);
  });
  form.elements.action.addEventListener("change", function () {
    page = 1;
    load();
  });
  prev.addEventListener("click", function () {
    if (page > 1) {
      page -= 1;
      load();
    }
  });
  next.addEventListener("click", function () {
    page += 1;
    load();
  });

  load();
})();
