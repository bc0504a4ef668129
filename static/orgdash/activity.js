/* Activity tab (an ES module): engagement tiles, the cumulative and over-time Chart.js charts, and
 * the most active users, fed by the activity API (precomputed aggregates). The chosen periods,
 * interval and view live in the query string, so a reload or a shared link keeps them, and each
 * change is a history entry that Back and Forward return to.
 * No inline script: the page only carries the API URLs as data attributes. Chart.js is the vendored
 * UMD build, loaded by a classic script before this module (window.Chart). */
import { partialCuts, partialFootnote, partialNote, pointTitle } from "./activity/buckets.js";
import { SURFACES, surfaceLineStyle, surfaceWording, totalWording, valueWords } from "./activity/surfaces.js";
import { changedChoices, choicesQuery, parseChoices } from "./activity/url-state.js";
import { api } from "./lib/api.js";
import {
  formatBucket, formatDateTime, formatDay, formatDayRange, formatNumber, formatPercent, formatRelative,
} from "./lib/format.js";

const app = document.getElementById("activity-app");

const POLL_MS = 60000;          // aggregates are refreshed about once a minute
const POLL_PENDING_MS = 10000;  // sooner while the first figures are being computed
function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

// --- The query string: every choice on the page, so reloads, links and Back keep them -----------

const choices = parseChoices(window.location.search);

function writeUrl({ push }) {
  const qs = choicesQuery(choices);
  const url = window.location.pathname + (qs ? `?${qs}` : "");
  if (url === window.location.pathname + window.location.search) return;
  window.history[push ? "pushState" : "replaceState"](null, "", url);
}

// A choice the reader makes is a history entry, as on the Users tab, so Back returns to the last view.
function remember(name, value) {
  choices[name] = value;
  writeUrl({ push: true });
}

// --- Fetching with loading, empty, pending and error states -------------------------------------

class Card {
  constructor(element) {
    this.element = element;
    this.overlay = element.querySelector("[data-overlay]");
    this.overlayText = element.querySelector("[data-overlay-text]");
    this.retry = element.querySelector("[data-retry]");
    this.ranges = element.querySelectorAll("[data-range]");
    this.data = null;
    this.controller = null;
    this.retry.addEventListener("click", () => this.load(false));
  }

  /** The URL choices this card shows. */
  get follows() { return []; }

  /** Sets the card's controls to the current choices (after Back or Forward). */
  syncControls() {}

  setState(state, message) {
    // state: loading | ready | empty | pending | error
    this.element.setAttribute("data-state", state);
    this.element.setAttribute("aria-busy", state === "loading" ? "true" : "false");
    this.overlay.hidden = state === "ready";
    this.overlay.className = `${this.overlay.className.split(" ")[0]} is-${state}`;
    this.overlay.setAttribute("role", state === "error" ? "alert" : "status");
    this.overlayText.textContent = message || "";
    this.retry.hidden = state !== "error";
  }

  fetchJson(path, background, signal) {
    // Polling is not user activity: the server does not count background requests.
    return api(path, { background, signal });
  }

  async load(background) {
    if (this.controller) this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    if (!background) this.setState("loading", "Loading…");
    try {
      const data = await this.request(background, controller.signal);
      if (controller !== this.controller) return;
      const unchanged = background && this.data && this.data.key === data.key &&
        this.data.computed_at === data.computed_at;
      if (!unchanged) this.render(data);
      updateComputedLine();
    } catch (error) {
      if (error.name === "AbortError" || controller !== this.controller) return;
      if (background && this.data) return;  // keep showing the last figures; the next poll retries
      const message = error.status === 401 || error.status === 403
        ? "Your session has ended. Reload the page to log in again."
        : `Could not load the figures. ${error.message || ""}`;
      this.setState("error", message);
    }
  }

  showRange(data) {
    this.ranges.forEach((node) => { node.textContent = `(${formatDayRange(data.start, data.end)})`; });
  }

  settle(data, empty, emptyMessage) {
    if (data.computed_at === null) {
      this.setState("pending", "The figures are being computed; they appear here within a minute.");
    } else if (empty) {
      this.setState("empty", emptyMessage);
    } else {
      this.setState("ready", "");
    }
  }
}

// --- Engagement tiles ----------------------------------------------------------------------------

class KpiCard extends Card {
  constructor(element) {
    super(element);
    this.url = app.dataset.engagementUrl;
  }

  async request(background, signal) {
    const data = await this.fetchJson(this.url, background, signal);
    return { ...data, key: "engagement" };
  }

  render(data) {
    this.data = data;
    for (const name of ["dau", "wau", "mau", "stickiness"]) {
      const tile = this.element.querySelector(`[data-kpi="${name}"]`);
      const now = data[name];
      const before = data.previous[name];
      const isRatio = name === "stickiness";
      tile.querySelector("[data-value]").textContent = isRatio ? formatPercent(now) : formatNumber(now);
      const change = tile.querySelector("[data-change]");
      const delta = isRatio ? Math.round((now - before) * 1000) / 10 : now - before;
      const direction = delta > 0 ? "up" : delta < 0 ? "down" : "flat";
      const amount = isRatio ? `${Math.abs(delta).toFixed(1)} pts` : formatNumber(Math.abs(delta));
      const was = isRatio ? formatPercent(before) : formatNumber(before);
      change.className = `kpi-change is-${direction}`;
      change.textContent = direction === "flat"
        ? `No change vs 30 days earlier (${was})`
        : `${direction === "up" ? "▲" : "▼"} ${amount} vs 30 days earlier (${was})`;
      change.setAttribute("aria-label", direction === "flat"
        ? `No change against 30 days earlier, ${was}`
        : `${direction === "up" ? "Up" : "Down"} ${amount} against 30 days earlier, ${was}`);
    }
    this.settle(data, data.mau === 0, "No activity in the last 30 days yet.");
    if (this.element.dataset.state === "empty") this.overlay.hidden = false;
  }
}

// --- Charts ----------------------------------------------------------------------------------------

class ChartCard extends Card {
  constructor(element, options) {
    super(element);
    this.url = options.url;
    this.kind = options.kind;
    this.color = options.color;
    this.choice = options.choice;
    this.select = element.querySelector("[data-period]");
    this.canvas = element.querySelector("[data-canvas]");
    this.tooltip = element.querySelector("[data-tooltip]");
    this.rows = element.querySelector("[data-rows]");
    this.head = element.querySelector("[data-head]");
    this.total = element.querySelector("[data-total]");
    this.chart = null;
    this.select.value = choices[this.choice];
    this.select.addEventListener("change", () => {
      remember(this.choice, this.select.value);
      this.periodChanged();
      this.load(false);
    });
  }

  get follows() { return [this.choice]; }

  syncControls() {
    this.select.value = choices[this.choice];
    this.periodChanged();
  }

  periodChanged() {}

  get interval() { return "day"; }

  get view() { return "total"; }

  async request(background, signal) {
    const period = this.select.value;
    const data = await this.fetchJson(`${this.url}?period=${encodeURIComponent(period)}`, background, signal);
    return { ...data, key: `${period}` };
  }

  render(data) {
    this.data = data;
    this.showRange(data);
    if (this.total) this.total.textContent = formatNumber(data.total_active_users);
    const datasets = this.datasets(data);
    this.drawChart(datasets);
    this.fillTable(data, datasets);
    const empty = datasets.every((set) => set.points.every((point) => point.active_users === 0));
    this.settle(data, empty, "No activity in this period yet.");
  }

  datasets(data) {
    const label = this.kind === "summary" ? "Unique active users since the start" : "Active users";
    return [{ label, color: this.color, points: data.series }];
  }

  drawChart(datasets) {
    const card = this;
    const data = this.data;
    const interval = this.interval;
    // By surface, each line is its own count of unique users: someone active on several surfaces
    // is on each line, so the lines are drawn side by side (never stacked, never filled) and the
    // y-axis reaches the largest single count, not a sum that is no count of people.
    const bySurface = datasets.length > 1;
    const lines = bySurface ? surfaceLineStyle() : { type: "line", fill: "origin", stacked: false };
    const dense = datasets[0].points.length > 62;
    // A partial point is drawn hollow at the end of a dashed segment: today's (the current week or
    // month) is not over, and the first week or month may start before the period, so neither
    // reads as a drop. The running total has no partial points.
    const cuts = card.kind === "summary" ? [] : partialCuts(datasets[0].points, data, interval);
    const partial = (ctx) => Boolean(cuts[ctx.dataIndex]?.start || cuts[ctx.dataIndex]?.end);
    const dashed = (ctx) => Boolean(cuts[ctx.p0DataIndex]?.start || cuts[ctx.p1DataIndex]?.end);
    const config = datasets.map((set) => ({
      type: lines.type,
      label: set.label,
      data: set.points,
      parsing: { xAxisKey: "date", yAxisKey: "active_users" },
      borderColor: set.color,
      borderWidth: 2,
      pointRadius: (ctx) => (partial(ctx) ? 4 : dense ? 0 : 2.5),
      pointHoverRadius: 5,
      pointBackgroundColor: (ctx) => (partial(ctx) ? "#fff" : set.color),
      pointBorderColor: set.color,
      pointHoverBorderColor: "#fff",
      pointHoverBorderWidth: 2,
      segment: { borderDash: (ctx) => (dashed(ctx) ? [5, 4] : undefined) },
      cubicInterpolationMode: "monotone",
      fill: lines.fill,
      hidden: set.hidden,
      backgroundColor: bySurface ? set.color : (ctx) => {
        const area = ctx.chart.chartArea;
        if (!area) return "transparent";
        const gradient = ctx.chart.ctx.createLinearGradient(0, area.top, 0, area.bottom);
        gradient.addColorStop(0, `${set.color}40`);
        gradient.addColorStop(1, `${set.color}05`);
        return gradient;
      },
    }));
    if (this.chart && this.chart.data.datasets.length === config.length) {
      config.forEach((set, index) => Object.assign(this.chart.data.datasets[index], set));
      this.chart.options.scales.x.time.unit = interval === "day" ? undefined : interval;
      this.chart.update();
      return;
    }
    if (this.chart) this.chart.destroy();
    this.chart = new window.Chart(this.canvas.getContext("2d"), {
      type: "line",
      data: { datasets: config },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: { duration: 300 },
        interaction: { mode: "index", intersect: false },
        scales: {
          x: {
            type: "time",
            time: { minUnit: "day", unit: interval === "day" ? undefined : interval, isoWeekday: true },
            grid: { display: false },
            border: { color: cssVar("--line", "#dde1e8") },
            ticks: { color: cssVar("--muted", "#5b6478"), maxRotation: 0, autoSkipPadding: 20 },
          },
          y: {
            stacked: lines.stacked,
            beginAtZero: true,
            grace: "8%",
            border: { display: false },
            grid: { color: "#eef0f4" },
            ticks: {
              color: cssVar("--muted", "#5b6478"),
              precision: 0,
              callback: (value) => formatNumber(value),
            },
          },
        },
        plugins: {
          legend: { display: false },
          tooltip: { enabled: false, external: (ctx) => card.showTooltip(ctx) },
        },
      },
    });
  }

  showTooltip(context) {
    const { tooltip } = context;
    const box = this.tooltip;
    if (!tooltip || tooltip.opacity === 0 || !tooltip.dataPoints || !tooltip.dataPoints.length) {
      box.hidden = true;
      return;
    }
    const first = tooltip.dataPoints[0].raw;
    box.textContent = "";
    const title = document.createElement("div");
    title.className = "chart-tooltip-date";
    title.textContent = this.kind === "summary"
      ? formatBucket(first.date, this.interval)
      : pointTitle(first, this.data, this.interval);
    box.appendChild(title);
    for (const item of tooltip.dataPoints) {
      const point = item.raw;
      const value = document.createElement("div");
      value.className = "chart-tooltip-value";
      const number = document.createElement("strong");
      number.textContent = formatNumber(point.active_users);
      value.appendChild(number);
      let what;
      if (this.kind === "summary") what = ` unique active users since ${formatDay(this.data.start)}`;
      else if (this.data.surfaces) what = valueWords(point.active_users, item.dataset.label);
      else what = valueWords(point.active_users);
      value.appendChild(document.createTextNode(what));
      box.appendChild(value);
    }
    if (this.data.surfaces) {
      const note = document.createElement("div");
      note.className = "chart-tooltip-note";
      note.textContent = surfaceWording(this.interval).tooltipNote;
      box.appendChild(note);
    }
    box.hidden = false;
    const area = context.chart.chartArea;
    const width = box.offsetWidth;
    const left = Math.min(Math.max(tooltip.caretX - width / 2, area.left), area.right - width);
    let top = tooltip.caretY - box.offsetHeight - 12;
    if (top < 0) top = tooltip.caretY + 12;
    box.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
  }

  fillTable(data, datasets) {
    const interval = this.interval;
    if (this.head && this.kind !== "summary") {
      const row = document.createElement("tr");
      const headers = [interval === "day" ? "Date" : interval === "week" ? "Week" : "Month",
        ...datasets.map((set) => (datasets.length > 1 ? set.label : "Active users"))];
      for (const text of headers) {
        const cell = document.createElement("th");
        cell.scope = "col";
        cell.textContent = text;
        row.appendChild(cell);
      }
      this.head.replaceChildren(row);
    }
    const fragment = document.createDocumentFragment();
    datasets[0].points.forEach((point, index) => {
      const row = document.createElement("tr");
      const date = document.createElement("td");
      const time = document.createElement("time");
      time.dateTime = point.date;
      time.textContent = interval === "day" ? formatDay(point.date) : formatBucket(point.date, interval);
      date.appendChild(time);
      const note = this.kind === "summary" ? "" : partialNote(point, data, interval);
      if (note) date.appendChild(document.createTextNode(note));
      row.appendChild(date);
      for (const set of datasets) {
        const value = document.createElement("td");
        value.textContent = formatNumber(set.points[index].active_users);
        row.appendChild(value);
      }
      fragment.appendChild(row);
    });
    this.rows.replaceChildren(fragment);
  }
}

class OverTimeCard extends ChartCard {
  constructor(element, options) {
    super(element, options);
    this.download = element.querySelector("[data-download]");
    this.legend = element.querySelector("[data-legend]");
    this.partialNote = element.querySelector("[data-partial-note]");
    this.subtitle = element.querySelector("[data-subtitle]");
    this.legendNote = element.querySelector("[data-legend-note]");
    this.tableNote = element.querySelector("[data-table-note]");
    this.caption = element.querySelector("[data-caption]");
    this.hiddenSurfaces = new Set();
    for (const [group, name] of [["[data-interval]", "interval"], ["[data-view]", "view"]]) {
      const fieldset = element.querySelector(group);
      fieldset.querySelector(`input[value="${choices[name]}"]`).checked = true;
      fieldset.addEventListener("change", (event) => {
        remember(name, event.target.value);
        this.load(false);
      });
    }
    this.periodChanged();
  }

  get follows() { return [this.choice, "interval", "view"]; }

  syncControls() {
    super.syncControls();
    for (const name of ["interval", "view"]) {
      this.element.querySelector(`[data-${name}] input[value="${choices[name]}"]`).checked = true;
    }
  }

  get interval() { return this.element.querySelector("[data-interval] input:checked").value; }

  get view() { return this.element.querySelector("[data-view] input:checked").value; }

  periodChanged() {
    this.download.href = `${app.dataset.exportUrl}?period=${encodeURIComponent(this.select.value)}`;
  }

  async request(background, signal) {
    const period = encodeURIComponent(this.select.value);
    const { interval, view } = this;
    const base = `${this.url}?period=${period}&interval=${interval}`;
    const key = `${period}:${interval}:${view}`;
    if (view === "total") return { ...(await this.fetchJson(base, background, signal)), key };
    const answers = await Promise.all(
      SURFACES.map((surface) => this.fetchJson(`${base}&surface=${surface.key}`, background, signal)),
    );
    const latest = answers.map((answer) => answer.computed_at).sort().pop();
    return { ...answers[0], computed_at: latest, surfaces: answers.map((answer) => answer.series), key };
  }

  datasets(data) {
    if (!data.surfaces) return super.datasets(data);
    return SURFACES.map((surface, index) => ({
      label: surface.label,
      color: surface.color,
      points: data.surfaces[index],
      hidden: this.hiddenSurfaces.has(surface.key),
    }));
  }

  render(data) {
    super.render(data);
    const interval = this.interval;
    const wording = data.surfaces ? surfaceWording(interval) : totalWording(interval);
    this.subtitle.textContent = wording.subtitle;
    this.canvas.setAttribute("aria-label", wording.chartLabel);
    this.caption.textContent = data.surfaces
      ? `Users active on each surface in each ${interval}`
      : `Users active in each ${interval}`;
    this.tableNote.textContent = data.surfaces ? wording.tableNote : "";
    this.tableNote.hidden = !data.surfaces;
    this.legendNote.textContent = data.surfaces ? wording.legendNote : "";
    this.legendNote.hidden = !data.surfaces;
    const footnote = partialFootnote(data.series, data, interval);
    this.partialNote.textContent = footnote;
    this.partialNote.hidden = !footnote;
    this.renderLegend(Boolean(data.surfaces));
  }

  renderLegend(shown) {
    this.legend.hidden = !shown;
    if (!shown) return;
    const buttons = SURFACES.map((surface, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "legend-item";
      button.dataset.surface = surface.key;
      const visible = !this.hiddenSurfaces.has(surface.key);
      button.setAttribute("aria-pressed", String(visible));
      const swatch = document.createElement("span");
      swatch.className = "legend-swatch";
      swatch.style.background = surface.color;
      swatch.setAttribute("aria-hidden", "true");
      button.append(swatch, document.createTextNode(surface.label));
      button.addEventListener("click", () => {
        const show = this.hiddenSurfaces.has(surface.key);
        if (show) this.hiddenSurfaces.delete(surface.key);
        else this.hiddenSurfaces.add(surface.key);
        this.chart.setDatasetVisibility(index, show);
        this.chart.update();
        button.setAttribute("aria-pressed", String(show));
      });
      return button;
    });
    this.legend.replaceChildren(...buttons);
  }
}

// --- Most active users ---------------------------------------------------------------------------

class LeadersCard extends Card {
  constructor(element) {
    super(element);
    this.url = app.dataset.topUsersUrl;
    this.select = element.querySelector("[data-period]");
    this.rows = element.querySelector("[data-rows]");
    this.select.value = choices.top;
    this.select.addEventListener("change", () => {
      remember("top", this.select.value);
      this.load(false);
    });
  }

  get follows() { return ["top"]; }

  syncControls() { this.select.value = choices.top; }

  async request(background, signal) {
    const period = encodeURIComponent(this.select.value);
    const data = await this.fetchJson(`${this.url}?period=${period}&limit=10`, background, signal);
    return { ...data, key: period };
  }

  render(data) {
    this.data = data;
    this.showRange(data);
    const fragment = document.createDocumentFragment();
    data.results.forEach((entry, index) => {
      const row = document.createElement("tr");
      const rank = document.createElement("td");
      rank.textContent = String(index + 1);
      const name = document.createElement("td");
      const link = document.createElement("a");
      link.href = app.dataset.personUrl.replace("/0/", `/${entry.user.id}/`);
      link.textContent = entry.user.name || entry.user.username || entry.user.email;
      name.appendChild(link);
      if (entry.user.name) {
        const email = document.createElement("span");
        email.className = "muted leaders-email";
        email.textContent = entry.user.email;
        name.append(" ", email);
      }
      const days = document.createElement("td");
      days.textContent = formatNumber(entry.days_active);
      const last = document.createElement("td");
      const time = document.createElement("time");
      time.dateTime = entry.last_active;
      time.textContent = formatDay(entry.last_active);
      last.appendChild(time);
      row.append(rank, name, days, last);
      fragment.appendChild(row);
    });
    this.rows.replaceChildren(fragment);
    this.settle(data, data.results.length === 0, "Nobody was active in this period.");
  }
}

// --- The page --------------------------------------------------------------------------------------

const computedLine = app.querySelector("[data-computed]");
let cards = [];

function updateComputedLine() {
  const times = cards.map((card) => card.data && card.data.computed_at).filter(Boolean);
  if (!cards.some((card) => card.data)) return;
  computedLine.textContent = "";
  if (!times.length) {
    computedLine.textContent = "The figures have not been computed yet.";
    return;
  }
  const latest = new Date(times.sort().pop());
  const when = document.createElement("time");
  when.dateTime = latest.toISOString();
  when.title = latest.toString();
  when.textContent = formatRelative(latest);
  computedLine.append("Figures computed ", when, ` (${formatDateTime(latest)} UTC)`);
}

function poll() {
  const pending = cards.some((card) => card.data && card.data.computed_at === null);
  window.setTimeout(() => {
    if (document.hidden) { poll(); return; }
    Promise.all(cards.map((card) => card.load(true))).then(poll, poll);
  }, pending ? POLL_PENDING_MS : POLL_MS);
}

function start() {
  const kpis = new KpiCard(app.querySelector("[data-kpis]"));
  const leaders = new LeadersCard(app.querySelector("[data-leaders]"));
  if (!window.Chart) {
    cards = [kpis, leaders];
    for (const selector of ['[data-chart="summary"]', '[data-chart="timeseries"]']) {
      const element = app.querySelector(selector);
      element.setAttribute("data-state", "error");
      element.querySelector("[data-overlay-text]").textContent = "The chart library could not be loaded.";
    }
  } else {
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    cards = [
      kpis,
      new ChartCard(app.querySelector('[data-chart="summary"]'), {
        url: app.dataset.summaryUrl, kind: "summary", color: "#2b59c3", choice: "summary",
      }),
      new OverTimeCard(app.querySelector('[data-chart="timeseries"]'), {
        url: app.dataset.timeseriesUrl, kind: "timeseries", color: "#c77c00", choice: "period",
      }),
      leaders,
    ];
  }
  writeUrl({ push: false });  // tidies a hand-written query string without adding an entry
  // Back or Forward: show the choices of that entry again, reloading only the cards they change.
  window.addEventListener("popstate", () => {
    const next = parseChoices(window.location.search);
    const changed = changedChoices(choices, next);
    Object.assign(choices, next);
    for (const card of cards) {
      if (!card.follows.some((name) => changed.includes(name))) continue;
      card.syncControls();
      card.load(false);
    }
  });
  Promise.all(cards.map((card) => card.load(false))).then(poll, poll);
  window.setInterval(updateComputedLine, 30000);
}

if (app) start();
