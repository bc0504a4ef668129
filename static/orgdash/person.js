/*
 * One person's page (/org/dashboard/users/<id>/): the calendar of active days (from
 * GET /api/v1/users/<id>/activity/?period=12m), activity by kind, and the person's actions.
 */
import { api } from "./lib/api.js";
import { confirmAction } from "./lib/dialogs.js";
import { formatDate, plural } from "./lib/format.js";

const root = document.getElementById("person-app");
const API_ROOT = "/api/v1/";
const ID = Number(root.dataset.id);
const KIND_LABELS = { login: "Log-in", page_view: "Web pages", run_logged: "Runs logged", sdk: "SDK", api: "API" };
const DAY_MS = 86400000;
const WEEKDAYS = ["Mon", "", "Wed", "", "Fri", "", ""];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const $ = (id) => document.getElementById(id);
const parseDay = (iso) => new Date(`${iso}T00:00:00Z`);
const isoDay = (date) => date.toISOString().slice(0, 10);
const kindText = (kinds) => kinds.map((kind) => KIND_LABELS[kind] || kind).join(", ");

function dayLabel(iso, kinds) {
  const text = formatDate(parseDay(iso));
  return kinds && kinds.length ? `${text}: ${kindText(kinds)}` : `${text}: no activity`;
}

// --- The calendar ------------------------------------------------------------------------------

function renderCalendar(data) {
  const grid = $("calendar");
  const active = new Map(data.days.map((day) => [day.date, day.kinds]));
  const start = parseDay(data.start);
  const end = parseDay(data.end);
  const first = new Date(start.getTime() - ((start.getUTCDay() + 6) % 7) * DAY_MS); // Monday on or before
  const columns = Math.ceil(((end - first) / DAY_MS + 1) / 7);

  const rows = [];
  // Month labels over the first week of each month.
  let header = '<div role="row" class="cal-row cal-months"><span role="columnheader" class="cal-corner"></span>';
  for (let week = 0; week < columns; week += 1) {
    const monday = new Date(first.getTime() + week * 7 * DAY_MS);
    const label = monday.getUTCDate() <= 7 ? MONTHS[monday.getUTCMonth()] : "";
    header += `<span role="columnheader" class="cal-month">${label}</span>`;
  }
  rows.push(`${header}</div>`);
  for (let weekday = 0; weekday < 7; weekday += 1) {
    let row = `<div role="row" class="cal-row"><span role="rowheader" class="cal-weekday">${WEEKDAYS[weekday]}</span>`;
    for (let week = 0; week < columns; week += 1) {
      const date = new Date(first.getTime() + (week * 7 + weekday) * DAY_MS);
      if (date < start || date > end) {
        row += '<span role="gridcell" class="cal-day cal-out" aria-hidden="true"></span>';
        continue;
      }
      const iso = isoDay(date);
      const kinds = active.get(iso) || [];
      const level = Math.min(kinds.length, 4);
      row +=
        `<span role="gridcell" class="cal-day level-${level}" tabindex="-1" data-date="${iso}" ` +
        `data-kinds="${kinds.join(" ")}" aria-label="${dayLabel(iso, kinds)}"></span>`;
    }
    rows.push(`${row}</div>`);
  }
  grid.innerHTML = rows.join("");
  grid.setAttribute("aria-busy", "false");
  grid.parentElement.scrollLeft = grid.parentElement.scrollWidth; // narrow screens start at the latest weeks

  // One tab stop: the latest active day (or today); arrow keys move between days. Cells run
  // weekday by weekday, not in date order, so the day is found by its date.
  const cells = [...grid.querySelectorAll(".cal-day[data-date]")];
  const latest = data.days.length ? data.days[data.days.length - 1].date : data.end;
  (grid.querySelector(`.cal-day[data-date="${latest}"]`) || grid.querySelector(`.cal-day[data-date="${data.end}"]`)).tabIndex = 0;
  wireCalendar(grid, cells);
}

function showTip(cell) {
  const tip = $("calendar-tip");
  const kinds = cell.dataset.kinds ? cell.dataset.kinds.split(" ") : [];
  tip.textContent = dayLabel(cell.dataset.date, kinds);
  tip.hidden = false;
  const box = cell.getBoundingClientRect();
  const host = tip.offsetParent ? tip.offsetParent.getBoundingClientRect() : { left: 0, top: 0 };
  tip.style.left = `${Math.max(0, box.left - host.left - 60)}px`;
  tip.style.top = `${box.top - host.top - 34}px`;
  tip.classList.add("is-shown");
}

function hideTip() {
  $("calendar-tip").classList.remove("is-shown");
}

function wireCalendar(grid, cells) {
  const byDate = new Map(cells.map((cell) => [cell.dataset.date, cell]));
  // The grid runs by week (columns) and weekday (rows); Home and End go to its first and last day.
  const days = [...byDate.keys()].sort();
  grid.addEventListener("mouseover", (event) => {
    const cell = event.target.closest(".cal-day[data-date]");
    if (cell) showTip(cell);
  });
  grid.addEventListener("mouseleave", hideTip);
  grid.addEventListener("focusin", (event) => {
    const cell = event.target.closest(".cal-day[data-date]");
    if (cell) showTip(cell);
  });
  grid.addEventListener("focusout", hideTip);
  grid.addEventListener("keydown", (event) => {
    const cell = event.target.closest(".cal-day[data-date]");
    if (!cell) return;
    const steps = { ArrowUp: -1, ArrowDown: 1, ArrowLeft: -7, ArrowRight: 7 };
    let target;
    if (event.key in steps) {
      const date = new Date(parseDay(cell.dataset.date).getTime() + steps[event.key] * DAY_MS);
      target = byDate.get(isoDay(date));
    } else if (event.key === "Home") {
      target = byDate.get(days[0]);
    } else if (event.key === "End") {
      target = byDate.get(days[days.length - 1]);
    } else if (event.key === "Escape") {
      hideTip();
      return;
    } else {
      return;
    }
    event.preventDefault();
    if (!target) return;
    cell.tabIndex = -1;
    target.tabIndex = 0;
    target.focus();
  });
}

function renderKinds(data) {
  const list = $("kinds");
  list.innerHTML = Object.entries(data.by_kind)
    .map(
      ([kind, days]) =>
        `<li data-kind="${kind}"><span class="kind-label">${KIND_LABELS[kind] || kind}</span>` +
        `<span class="kind-days">${plural(days, "day", "days")}</span></li>`,
    )
    .join("");
}

function renderTable(data) {
  const body = $("calendar-table").tBodies[0];
  body.innerHTML = data.days.length
    ? [...data.days]
        .reverse()
        .map((day) => `<tr><td>${day.date}</td><td>${kindText(day.kinds)}</td></tr>`)
        .join("")
    : '<tr><td colspan="2">No activity in these 12 months.</td></tr>';
}

async function loadActivity() {
  try {
    const data = await api(`${API_ROOT}users/${ID}/activity/?period=12m`, { background: true });
    renderCalendar(data);
    renderKinds(data);
    renderTable(data);
    $("calendar-summary").textContent = `(${data.days_active} in the last 12 months, ${data.start} to ${data.end})`;
    performance.mark("orgdash:person-calendar"); // read by the browser tests
  } catch (error) {
    $("calendar").textContent = `Could not load activity. ${error.message}`;
    $("kinds").innerHTML = "";
  }
}

// --- Actions -----------------------------------------------------------------------------------
// Each button posts its action to this page, which answers with the page redrawn and the outcome
// in #person-ok or #person-error (or, for a cancelled invite, the Users list). Here: ask first.

const ROLE_LABELS = { admin: "Admin", member: "Member", viewer: "Viewer" };
const ROLE_ARTICLES = { admin: "an admin", member: "a member", viewer: "a viewer" };

function describe() {
  const { name, email } = root.dataset;
  return name ? `${name} (${email})` : email;
}

// An alert is read out when it changes: focus stays on the button, to choose again.
function showError(message) {
  $("person-error").textContent = message;
  $("person-error").hidden = false;
}

/** The confirmation an action asks for (null: it does not ask); false when it cannot be done. */
function question(action) {
  const who = describe();
  if (action === "role") {
    const role = $("person-role").value;
    if (role === root.dataset.role) {
      showError(`${who} is already ${ROLE_ARTICLES[role]}.`);
      return false;
    }
    const isMe = root.dataset.isMe === "true";
    return {
      title: `Make ${who} ${ROLE_LABELS[role].toLowerCase()}?`,
      text:
        isMe && role !== "admin"
          ? "You will no longer be an admin and will lose access to this dashboard."
          : `Their role changes from ${ROLE_LABELS[root.dataset.role]} to ${ROLE_LABELS[role]}.`,
      ok: `Make ${ROLE_LABELS[role].toLowerCase()}`,
      cancel: "Keep role",
      danger: role !== "admin",
    };
  }
  if (action === "deactivate") {
    return {
      title: `Deactivate ${who}?`,
      text: "They are signed out at once and their API keys stop working. You can reactivate them later.",
      ok: "Deactivate",
      cancel: "Keep active",
    };
  }
  if (action === "cancel") {
    return {
      title: `Cancel the invite for ${root.dataset.email}?`,
      text: "The invite link stops working at once. You can invite them again later.",
      ok: "Cancel invite",
      cancel: "Keep invite",
    };
  }
  return null;
}

const actions = $("person-actions");
if (actions) {
  actions.addEventListener("submit", async (event) => {
    const button = event.submitter;
    if (!button || actions.dataset.sending === "true") {
      event.preventDefault();
      return;
    }
    if (button.dataset.confirmed === "true") {
      actions.dataset.sending = "true"; // one post per click, however often it is pressed
      return;
    }
    const ask = question(button.value);
    if (ask === null) {
      actions.dataset.sending = "true";
      return;
    }
    event.preventDefault();
    if (ask === false || !(await confirmAction(ask))) {
      button.focus();
      return;
    }
    button.dataset.confirmed = "true";
    // Asked here: the server takes it as confirmed (without the script it asks on a step of its own).
    let confirmed = actions.elements.namedItem("confirm");
    if (!confirmed) {
      confirmed = Object.assign(document.createElement("input"), { type: "hidden", name: "confirm" });
      actions.append(confirmed);
    }
    confirmed.value = button.value;
    actions.requestSubmit(button);
  });
}

// The outcome of the action just posted, or the question asked before one: read out where the
// actions are.
const outcome = [$("confirm-step"), $("person-error"), $("person-ok")].find((box) => box && !box.hidden);
if (outcome) outcome.focus();

// Restored from the back-forward cache (Back after an action): draw the page anew, as the
// person may have changed or gone since.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});

loadActivity();
