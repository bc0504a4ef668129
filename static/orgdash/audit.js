// Audit log tab: loads /api/v1/audit/ with the filters in the form, one page at a time.
// Text is only ever inserted with textContent, so no recorded value can become markup.
import { api } from "./lib/api.js";
import { formatTimestamp } from "./lib/format.js";

const FILTERS = ["action", "actor", "target", "since", "until"];
const app = document.getElementById("audit-app");
// Readable names of the stored action codes; the code itself stays in the badge's title.
const ACTION_LABELS = JSON.parse(app?.dataset.actionLabels || "{}");

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  return td;
}

function eventRow(event) {
  const tr = document.createElement("tr");
  const action = cell("");
  const badge = document.createElement("span");
  badge.className = "audit-action";
  badge.textContent = ACTION_LABELS[event.action] || event.action;
  badge.title = event.action;
  action.appendChild(badge);
  tr.append(
    cell(formatTimestamp(event.time), "audit-time"),
    cell(event.actor || "system"),
    action,
    cell(event.target || ""),
    cell(event.ip_address || "", "audit-ip"),
  );
  return tr;
}

function start() {
  const apiRoot = app.dataset.apiRoot || "/api/v1/";
  const pageSize = Number.parseInt(app.dataset.pageSize, 10) || 50;
  const form = document.getElementById("audit-filters");
  const rows = document.getElementById("audit-rows");
  const range = document.getElementById("audit-range");
  const prev = document.getElementById("audit-prev");
  const next = document.getElementById("audit-next");
  const errorBox = document.getElementById("audit-error");
  const exportLink = document.getElementById("audit-export");
  let page = 1;
  let shownPage = 1;
  let request = 0;

  const filterParams = () => {
    const params = new URLSearchParams();
    FILTERS.forEach((name) => {
      const value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    });
    return params;
  };

  const render = (data) => {
    rows.textContent = "";
    if (!data.results.length) {
      const empty = document.createElement("tr");
      const text = cell("No audit events match these filters.", "muted");
      text.colSpan = 5;
      empty.appendChild(text);
      rows.appendChild(empty);
    }
    rows.append(...data.results.map(eventRow));
    const first = data.count ? (page - 1) * pageSize + 1 : 0;
    const last = (page - 1) * pageSize + data.results.length;
    range.textContent = data.count ? `${first}–${last} of ${data.count}` : "0 events";
    prev.disabled = !data.previous;
    next.disabled = !data.next;
    rows.setAttribute("aria-busy", "false");
  };

  // The form's words for what the API calls since/until.
  const FIELD_LABELS = { since: "From", until: "To", actor: "Actor", target: "Target", action: "Action" };

  const errorText = (error, errors) => {
    if ((errors.until || []).some((text) => text.includes("before"))) {
      return "The To date is before the From date.";
    }
    const [field] = Object.keys(errors).filter((name) => name in FIELD_LABELS);
    if (field) return `${FIELD_LABELS[field]}: ${errors[field].join(" ")}`;
    return error.message || "The audit log could not be loaded.";
  };

  const showError = (error) => {
    const errors = error.errors || {}; // none when the request did not reach the server
    errorBox.textContent = errorText(error, errors);
    errorBox.hidden = false;
    if (error.status === 400) {
      // Filters refused: the rows of the previous ones would read as the answer to these.
      rows.textContent = "";
      range.textContent = "";
      prev.disabled = true;
      next.disabled = true;
      Object.keys(errors).forEach((name) => form.elements[name]?.setAttribute("aria-invalid", "true"));
    }
    rows.setAttribute("aria-busy", "false");
  };

  const load = async () => {
    const params = filterParams();
    exportLink.href = `${apiRoot}audit/export.csv${params.toString() ? `?${params}` : ""}`;
    params.set("page", String(page));
    params.set("page_size", String(pageSize));
    const mine = ++request;
    rows.setAttribute("aria-busy", "true");
    errorBox.hidden = true;
    form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
    try {
      const data = await api(`${apiRoot}audit/?${params}`);
      if (mine === request) {
        shownPage = page;
        render(data);
      }
    } catch (error) {
      if (mine !== request) return;
      page = shownPage; // a page that failed to load is not the one on screen: Next tries it again
      showError(error);
    }
  };

  // The filters live in the page's URL, so a filtered view can be reloaded, shared and gone back to.
  const fillForm = () => {
    const query = new URLSearchParams(window.location.search);
    FILTERS.forEach((name) => {
      form.elements[name].value = query.get(name) || "";
    });
  };

  const restart = () => {
    page = 1;
    const params = filterParams().toString();
    if (params !== new URLSearchParams(window.location.search).toString()) {
      window.history.pushState(null, "", `${window.location.pathname}${params ? `?${params}` : ""}`);
    }
    load();
  };

  window.addEventListener("popstate", () => {
    fillForm();
    page = 1;
    load();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    restart();
  });
  // After the browser has cleared the fields.
  form.addEventListener("reset", () => window.setTimeout(restart, 0));
  form.elements.action.addEventListener("change", restart);
  prev.addEventListener("click", () => {
    if (page > 1) {
      page -= 1;
      load();
    }
  });
  next.addEventListener("click", () => {
    page += 1;
    load();
  });

  fillForm();
  load();
}

if (app) start();
