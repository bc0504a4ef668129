/*
 * The Users tab (/org/dashboard/): list, search, filters, sorting and pagination against
 * GET /api/v1/users/, invites and row actions. Plain ES2020, no framework, no build step.
 *
 * Every piece of view state lives in the URL (?search=&status=&role=&ordering=&page=) so a view
 * can be shared and reloaded. Rows are rendered as one HTML string per page from escaped values.
 */
(() => {
  "use strict";

  const root = document.getElementById("users-app");
  if (!root) return;

  const API_ROOT = root.dataset.apiRoot || "/api/v1/";
  const PAGE_SIZE = Number(root.dataset.pageSize) || 50;
  const ME = (root.dataset.meEmail || "").toLowerCase();
  const CAN_MANAGE = root.dataset.canManage === "true";

  const STATUSES = ["invite_pending", "active", "inactive", "deactivated"];
  const ROLES = ["admin", "member", "viewer"];
  const ROLE_LABELS = { admin: "Admin", member: "Member", viewer: "Viewer" };
  const SORT_FIELDS = ["last_active", "status", "name", "email", "role", "added", "days_active"];
  const DEFAULT_ORDERING = "-last_active";
  const SEARCH_DEBOUNCE_MS = 250;
  const REFRESH_MS = 60000;
  const TOAST_MS = 6000;
  const AVATAR_COLOURS = 8;
  const DOTS_SVG =
    '<svg class="dots" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">' +
    '<circle cx="3" cy="8" r="1.6"/><circle cx="8" cy="8" r="1.6"/><circle cx="13" cy="8" r="1.6"/></svg>';

  const $ = (id) => document.getElementById(id);
  const els = {
    table: $("users-table"),
    rows: $("users-rows"),
    search: $("users-search"),
    role: $("users-role"),
    chips: $("status-chips"),
    range: $("users-range"),
    prev: $("page-prev"),
    next: $("page-next"),
    error: $("users-error"),
    errorText: $("users-error-text"),
    retry: $("users-retry"),
    empty: $("users-empty"),
    emptyTitle: $("users-empty-title"),
    emptyText: $("users-empty-text"),
    clearFilters: $("users-clear-filters"),
    toasts: $("toasts"),
    alerts: $("toasts-alert"),
    exportLink: $("export-link"),
    moreButton: $("more-button"),
    moreMenu: $("more-menu"),
    inviteOpen: $("invite-open"),
    inviteDialog: $("invite-dialog"),
    inviteForm: $("invite-form"),
    inviteEmails: $("invite-emails"),
    inviteRole: $("invite-role"),
    inviteError: $("invite-error"),
    inviteEmailErrors: $("invite-email-errors"),
    inviteSubmit: $("invite-submit"),
    inviteResult: $("invite-result"),
    inviteResultTitle: $("invite-result-title"),
    inviteSummary: $("invite-summary"),
    inviteMore: $("invite-more"),
    confirmDialog: $("confirm-dialog"),
    confirmTitle: $("confirm-title"),
    confirmText: $("confirm-text"),
    confirmOk: $("confirm-ok"),
    confirmCancel: $("confirm-cancel"),
    selectPage: $("select-page"),
    bulkBar: $("bulk-bar"),
    bulkCount: $("bulk-count"),
    bulkAllMatching: $("bulk-all-matching"),
    bulkRole: $("bulk-role"),
    bulkClear: $("bulk-clear"),
    bulkDialog: $("bulk-dialog"),
    bulkTitle: $("bulk-title"),
    bulkSummary: $("bulk-summary"),
    resendExpired: $("resend-expired"),
  };
  const PERSON_URL = (id) => `/org/dashboard/users/${Number(id)}/`;
  const BULK_CHUNK = 1000; // POST users/bulk/ takes at most 1,000 ids
  const ALL_PAGE_SIZE = 500;

  const state = { search: "", status: [], role: "", ordering: DEFAULT_ORDERING, page: 1 };
  const usersById = new Map();
  let total = 0;
  let pageRows = 0;
  let listController = null;
  let countsController = null;
  let loadedOnce = false;
  let sessionEnded = false;
  // Bulk selection: id -> User, kept across pages; cleared when the filters change.
  const selected = new Map();
  let highlight = new Set(); // ids to flash after the list reloads (new invites)

  // --- Formatting -----------------------------------------------------------------------------

  const numberFormat = new Intl.NumberFormat("en-US");
  const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

  const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
  const fmt = (n) => numberFormat.format(n);
  const pad = (n) => String(n).padStart(2, "0");

  function formatDate(iso) {
    const d = new Date(iso);
    return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
  }

  function formatExact(iso) {
    const d = new Date(iso);
    return (
      `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`
    );
  }

  function formatRelative(iso, now = Date.now()) {
    const seconds = (new Date(iso).getTime() - now) / 1000;
    const abs = Math.abs(seconds);
    if (abs < 60) return "just now";
    const units = [
      ["minute", 60, 3600],
      ["hour", 3600, 86400],
      ["day", 86400, 86400 * 30],
      ["month", 86400 * 30.4375, 86400 * 365.25],
      ["year", 86400 * 365.25, Infinity],
    ];
    for (const [unit, size, limit] of units) {
      if (abs < limit) return relativeFormat.format(Math.round(seconds / size), unit);
    }
    return "";
  }

  const plural = (n, one, many) => `${fmt(n)} ${n === 1 ? one : many}`;

  function initialsOf(user) {
    const name = (user.name || "").trim();
    const source = name || user.username || (user.email || "").split("@")[0] || "?";
    // Words that start with a letter: "Jane van Doe" gives "JD"; handles and addresses give one
    // letter ("jane.43eb2" gives "J").
    const words = source.split(/[\s._+-]+/).filter((word) => /^\p{L}/u.test(word));
    if (!words.length) return [...source][0].toUpperCase();
    const first = [...words[0]][0];
    const last = name && words.length > 1 ? [...words[words.length - 1]][0] : "";
    return (first + last).toUpperCase();
  }

  function colourOf(text) {
    let hash = 0;
    for (let i = 0; i < text.length; i += 1) hash = (hash * 31 + text.charCodeAt(i)) >>> 0;
    return hash % AVATAR_COLOURS;
  }

  const displayName = (user) => user.name || user.username || user.email;
  const isMe = (user) => Boolean(ME) && (user.email || "").toLowerCase() === ME;
  const personLabel = (user) => (user.name ? `${user.name} (${user.email})` : user.email);

  // --- URL state ------------------------------------------------------------------------------

  function validOrdering(value) {
    return Boolean(value) && SORT_FIELDS.includes(value.replace(/^-/, ""));
  }

  function readUrl() {
    const query = new URLSearchParams(window.location.search);
    state.search = (query.get("search") || "").trim();
    const wanted = (query.get("status") || "").split(",");
    state.status = STATUSES.filter((s) => wanted.includes(s));
    state.role = ROLES.includes(query.get("role")) ? query.get("role") : "";
    state.ordering = validOrdering(query.get("ordering")) ? query.get("ordering") : DEFAULT_ORDERING;
    const page = Number.parseInt(query.get("page") || "1", 10);
    state.page = Number.isFinite(page) && page > 0 ? page : 1;
  }

  function filterQuery() {
    const query = new URLSearchParams();
    if (state.search) query.set("search", state.search);
    if (state.status.length) query.set("status", state.status.join(","));
    if (state.role) query.set("role", state.role);
    return query;
  }

  function writeUrl({ push }) {
    const query = filterQuery();
    if (state.ordering !== DEFAULT_ORDERING) query.set("ordering", state.ordering);
    if (state.page > 1) query.set("page", String(state.page));
    const qs = query.toString();
    const url = window.location.pathname + (qs ? `?${qs}` : "");
    if (url === window.location.pathname + window.location.search) return;
    window.history[push ? "pushState" : "replaceState"](null, "", url);
  }

  const hasFilters = () => Boolean(state.search || state.status.length || state.role);

  // --- API ------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, data) {
      super((data && data.detail) || `Request failed (${status}).`);
      this.status = status;
      this.data = data || {};
    }
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  const STATUS_MESSAGES = {
    401: "Your session has ended. Log in again to continue.",
    403: "You are not allowed to do this. Your session may have ended; log in again.",
    404: "That user no longer exists. The list has been refreshed.",
  };

  async function api(path, { method = "GET", body, background = false, signal } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (background) headers["X-Orgdash-Background"] = "1";
    let response;
    try {
      response = await fetch(API_ROOT + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        signal,
      });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError(0, { detail: "Could not reach the server. Check your connection and try again." });
    }
    if (response.status === 204) return null;
    let data = null;
    if ((response.headers.get("Content-Type") || "").includes("json")) {
      try {
        data = await response.json();
      } catch (err) {
        data = null;
      }
    }
    if (!response.ok) {
      const detail = (data && data.detail) || STATUS_MESSAGES[response.status] ||
        `The server could not complete the request (${response.status}). Try again in a moment.`;
      throw new ApiError(response.status, { ...(data || {}), detail });
    }
    return data;
  }

  // --- Rendering ------------------------------------------------------------------------------

  // A pending invite's tooltip: who invited them, when the link dies, and why the e-mail failed.
  const ERROR_TIP_LENGTH = 300;

  function inviteTooltipLines(user) {
    const invited = `Invited ${formatDate(user.added)}`;
    const lines = [user.invited_by ? `${invited} by ${user.invited_by}` : invited];
    const invite = user.invite;
    if (invite) {
      lines.push(`${invite.expired ? "Link expired" : "Link expires"} ${formatDate(invite.expires_at)}`);
      if (invite.delivery === "failed" && invite.last_error) {
        const error = invite.last_error;
        const text = `E-mail error: ${error.length > ERROR_TIP_LENGTH ? `${error.slice(0, ERROR_TIP_LENGTH)}…` : error}`;
        lines.push({ text, wrap: true });
      }
    }
    lines.push("Never active"); // pending invites have no activity
    return lines;
  }

  // The small line under a pending invite's badge: nothing once the e-mail went out and the link is live.
  function inviteNote(user) {
    const invite = user.status === "invite_pending" ? user.invite : null;
    if (!invite) return null;
    if (invite.expired) return { kind: "expired", text: "Expired — resend" };
    if (invite.delivery !== "failed") return null;
    if (invite.retrying) return { kind: "failed", text: "E-mail not delivered — retrying" };
    return { kind: "failed", text: `E-mail failed (${plural(invite.send_attempts, "attempt", "attempts")})` };
  }

  function tooltipLines(user) {
    if (user.status === "invite_pending") return inviteTooltipLines(user);
    const lines = [`Added ${formatDate(user.added)}`, plural(user.days_active || 0, "day active", "days active")];
    if (user.last_active) {
      lines.push(`Last active ${formatRelative(user.last_active)} (${formatExact(user.last_active)})`);
    } else {
      lines.push("Never active");
    }
    if (user.status === "deactivated" && user.deactivated_at) {
      lines.push(`Deactivated ${formatDate(user.deactivated_at)}`);
    }
    return lines;
  }

  // "Active · 3 days ago", "- · 8 months ago": the status and when the person was last active.
  function lastActiveWhen(user) {
    if (user.status === "invite_pending") return "";
    return user.last_active ? formatRelative(user.last_active) : "never";
  }

  function rowHtml(user, index, count) {
    const id = Number(user.id);
    const pending = user.status === "invite_pending";
    const name = displayName(user);
    const you = isMe(user) ? ' <span class="you">(you)</span>' : "";
    const primary = pending
      ? `<a class="person-link person-pending" href="${PERSON_URL(id)}">Pending invite</a>`
      : `<a class="person-link person-name" href="${PERSON_URL(id)}" title="${esc(name)}">${esc(name)}</a>${you}`;
    let secondary = "";
    if (pending) secondary = user.invited_by ? `Invited by ${esc(user.invited_by)}` : "Awaiting acceptance";
    else if (user.username) secondary = `@${esc(user.username)}`;
    // Rows near the bottom of the page open their tooltip and menu upwards.
    const up = count > 4 && index >= count - 3 ? " opens-up" : "";
    const tip = tooltipLines(user)
      .map((line) =>
        typeof line === "string"
          ? `<span class="tip-line">${esc(line)}</span>`
          : `<span class="tip-line${line.wrap ? " tip-line-wrap" : ""}">${esc(line.text)}</span>`,
      )
      .join("");
    const note = inviteNote(user);
    // The expired note is the resend action itself; a failed delivery note only informs.
    const noteHtml = !note
      ? ""
      : note.kind === "expired" && CAN_MANAGE
        ? `<button type="button" class="invite-note invite-note-expired note-action" data-action="resend" data-id="${id}" ` +
          `aria-label="Invite expired: resend to ${esc(user.email)}">${esc(note.text)}</button>`
        : `<span class="invite-note invite-note-${note.kind}">${esc(note.text)}</span>`;
    const when = lastActiveWhen(user);
    const whenHtml = when ? `<span class="last-when"> · ${esc(when)}</span>` : "";
    const checked = selected.has(id) ? " checked" : "";
    const select = CAN_MANAGE
      ? `<td class="td-select"><input type="checkbox" class="row-check row-select" data-id="${id}"${checked} ` +
        `aria-label="Select ${esc(pending ? user.email : name)}"></td>`
      : "";
    const actions = CAN_MANAGE
      ? `<div class="menu-anchor"><button type="button" class="btn-icon row-menu-button" data-id="${id}" ` +
        `aria-haspopup="menu" aria-expanded="false" aria-label="Actions for ${esc(name)}">` +
        `${DOTS_SVG}</button></div>`
      : "";
    return (
      `<tr class="user-row${up}${highlight.has(id) ? " row-updated" : ""}" data-id="${id}" data-status="${esc(user.status)}">` +
      select +
      `<td class="td-name"><div class="person"><span class="avatar avatar-c${colourOf(user.email || String(id))}" ` +
      `aria-hidden="true">${esc(initialsOf(user))}</span><div class="person-text">` +
      `<div class="person-primary">${primary}</div><div class="person-secondary">${secondary}</div></div></div></td>` +
      `<td class="td-email" data-label="Email"><span class="cell-text" title="${esc(user.email)}">${esc(user.email)}</span></td>` +
      `<td class="td-role" data-label="Role"><span class="role role-${esc(user.role)}">${esc(ROLE_LABELS[user.role] || user.role)}</span></td>` +
      `<td class="td-status" data-label="Last active"><span class="status-trigger${note ? " has-note" : ""}" tabindex="0" aria-describedby="tip-${id}">` +
      `<span class="badge badge-${esc(user.status)}">${esc(user.status_label)}</span>${whenHtml}</span>${noteHtml}` +
      `<span class="tip" role="tooltip" id="tip-${id}">${tip}</span></td>` +
      `<td class="td-days num" data-label="Days active">${fmt(user.days_active || 0)}</td>` +
      `<td class="td-actions">${actions}</td>` +
      "</tr>"
    );
  }

  function renderRows(results) {
    usersById.clear();
    results.forEach((user) => usersById.set(Number(user.id), user));
    pageRows = results.length;
    els.rows.innerHTML = results.map((user, i) => rowHtml(user, i, results.length)).join("");
    highlight = new Set();
    renderSelection();
  }

  function rowElement(id) {
    return els.rows.querySelector(`tr[data-id="${Number(id)}"]`);
  }

  function replaceRow(user) {
    const row = rowElement(user.id);
    if (!row) return;
    usersById.set(Number(user.id), user);
    const index = Array.prototype.indexOf.call(els.rows.rows, row);
    const template = document.createElement("template");
    template.innerHTML = rowHtml(user, index, els.rows.rows.length);
    const fresh = template.content.firstElementChild;
    fresh.classList.add("row-updated");
    row.replaceWith(fresh);
  }

  function removeRow(id) {
    const row = rowElement(id);
    if (!row) return;
    const following = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    usersById.delete(Number(id));
    selected.delete(Number(id));
    renderSelection();
    total = Math.max(0, total - 1);
    pageRows = Math.max(0, pageRows - 1);
    renderPager();
    const target = following && following.querySelector(".row-menu-button");
    (target || els.search).focus();
    if (pageRows === 0) loadList();
  }

  function renderPager(data) {
    if (total === 0 || pageRows === 0) {
      els.range.textContent = total === 0 ? "No users" : `0 of ${fmt(total)}`;
    } else {
      const from = (state.page - 1) * PAGE_SIZE + 1;
      els.range.textContent = `${fmt(from)}–${fmt(from + pageRows - 1)} of ${fmt(total)}`;
    }
    const hasNext = data ? Boolean(data.next) : state.page * PAGE_SIZE < total;
    els.prev.disabled = state.page <= 1;
    els.next.disabled = !hasNext;
  }

  function renderEmpty() {
    const onlyMe = total === 1 && !hasFilters() && [...usersById.values()].every(isMe);
    const show = total === 0 || onlyMe;
    els.empty.hidden = !show;
    els.table.classList.toggle("is-empty", total === 0);
    if (!show) return;
    if (total === 0 && hasFilters()) {
      els.emptyTitle.textContent = "No users match";
      els.emptyText.textContent = "Nobody matches this search and these filters. Try another search or clear the filters.";
      els.clearFilters.hidden = false;
    } else {
      els.emptyTitle.textContent = total === 0 ? "No one here yet" : "It’s just you so far";
      els.emptyText.textContent = CAN_MANAGE
        ? "Invite your team with “Invite new user”. Invited people show up here as pending until they accept."
        : "People appear here once an admin invites them.";
      els.clearFilters.hidden = true;
    }
  }

  function renderSortHeaders() {
    const desc = state.ordering.startsWith("-");
    const field = state.ordering.replace(/^-/, "");
    els.table.querySelectorAll("th[data-sort]").forEach((th) => {
      const key = th.dataset.sort;
      // The Last Active column sorts by status; it also shows the default last-active order.
      const active = key === field || (key === "status" && field === "last_active");
      th.setAttribute("aria-sort", active ? (desc ? "descending" : "ascending") : "none");
      th.classList.toggle("is-sorted", active);
    });
  }

  function renderChips() {
    els.chips.querySelectorAll(".chip").forEach((chip) => {
      const code = chip.dataset.status;
      const pressed = code ? state.status.includes(code) : state.status.length === 0;
      chip.setAttribute("aria-pressed", String(pressed));
    });
  }

  function renderCounts(counts) {
    els.chips.querySelectorAll("[data-count-for]").forEach((span) => {
      const code = span.dataset.countFor;
      const value = code ? counts[code] : counts.total;
      span.textContent = value === undefined ? "" : fmt(value);
    });
  }

  function syncControls() {
    if (els.search.value.trim() !== state.search) els.search.value = state.search;
    els.role.value = state.role;
    renderChips();
    renderSortHeaders();
    if (els.exportLink) {
      const qs = filterQuery().toString();
      els.exportLink.href = `${API_ROOT}users/export.csv${qs ? `?${qs}` : ""}`;
    }
  }

  function setBusy(busy) {
    els.rows.setAttribute("aria-busy", String(busy));
    els.table.classList.toggle("is-loading", busy && loadedOnce);
  }

  function showListError(error) {
    let message = error.data.detail || error.message;
    sessionEnded = error.status === 401 || error.status === 403;
    if (sessionEnded) message = STATUS_MESSAGES[error.status];
    els.errorText.textContent = `Could not load users. ${message}`;
    els.retry.textContent = sessionEnded ? "Log in again" : "Try again";
    els.error.hidden = false;
    if (!loadedOnce) {
      els.rows.innerHTML = "";
      els.range.textContent = "\u00a0";
    }
  }

  // --- Loading --------------------------------------------------------------------------------

  async function loadList({ background = false } = {}) {
    if (listController) listController.abort();
    const controller = new AbortController();
    listController = controller;
    const query = filterQuery();
    query.set("ordering", state.ordering);
    query.set("page", String(state.page));
    query.set("page_size", String(PAGE_SIZE));
    if (!background) setBusy(true);
    let data;
    try {
      data = await api(`users/?${query}`, { background, signal: controller.signal });
    } catch (error) {
      if (error.name === "AbortError") return;
      if (error.status === 404 && state.page > 1) {
        // The page no longer exists (the list shrank): show the first page instead.
        state.page = 1;
        writeUrl({ push: false });
        loadList();
        return;
      }
      if (listController === controller) {
        listController = null;
        setBusy(false);
        if (!background || error.status === 401 || error.status === 403) showListError(error);
      }
      return;
    }
    if (listController !== controller) return;
    listController = null;
    els.error.hidden = true;
    total = Number(data.count) || 0;
    renderRows(data.results || []);
    if (!loadedOnce) performance.mark("orgdash:users-first-rows"); // read by the browser tests
    loadedOnce = true;
    renderPager(data);
    renderEmpty();
    setBusy(false);
  }

  function normaliseCounts(data) {
    const source = (data && (data.counts || data.statuses || data.results)) || data || {};
    const counts = {};
    if (Array.isArray(source)) {
      source.forEach((item) => {
        counts[item.status] = Number(item.count) || 0;
      });
    } else {
      STATUSES.forEach((code) => {
        const value = source[code];
        counts[code] = Number(value && typeof value === "object" ? value.count : value) || 0;
      });
    }
    counts.total = data && Number.isFinite(Number(data.total))
      ? Number(data.total)
      : STATUSES.reduce((sum, code) => sum + (counts[code] || 0), 0);
    return counts;
  }

  async function loadCounts({ background = false } = {}) {
    if (countsController) countsController.abort();
    const controller = new AbortController();
    countsController = controller;
    const query = new URLSearchParams();
    if (state.search) query.set("search", state.search);
    if (state.role) query.set("role", state.role);
    try {
      const data = await api(`users/counts/?${query}`, { background, signal: controller.signal });
      if (countsController === controller) renderCounts(normaliseCounts(data));
    } catch (error) {
      // The counts decorate the filter chips; the list itself stays usable without them.
      if (error.name !== "AbortError" && countsController === controller) renderCounts({});
    }
  }

  function reload({ push, counts = true }) {
    // A selection belongs to the filters it was made under.
    if (selected.size && filterQuery().toString() !== selectionFilter) clearSelection();
    writeUrl({ push });
    syncControls();
    loadList();
    if (counts) loadCounts();
  }

  // --- Toasts ---------------------------------------------------------------------------------

  function toast(message, { error = false } = {}) {
    const item = document.createElement("div");
    item.className = `toast${error ? " toast-error" : ""}`;
    item.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.append(close);
    (error ? els.alerts : els.toasts).append(item);
    window.setTimeout(() => item.remove(), error ? TOAST_MS * 2 : TOAST_MS);
  }

  // --- Menus ----------------------------------------------------------------------------------

  let openMenu = null; // { button, menu, dynamic }

  const menuItems = (menu) => [...menu.querySelectorAll('[role^="menuitem"]:not([aria-disabled="true"])')];

  function showMenu(button, menu, { dynamic = false, focus = "first" } = {}) {
    closeMenu({ restoreFocus: false });
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    openMenu = { button, menu, dynamic };
    const items = menuItems(menu);
    items.forEach((item) => item.setAttribute("tabindex", "-1"));
    const target = focus === "last" ? items[items.length - 1] : items[0];
    if (target) target.focus({ preventScroll: true });
    // A menu near the bottom of a small screen would open partly out of sight: bring all of it in.
    menu.scrollIntoView({ block: "nearest" });
  }

  function closeMenu({ restoreFocus = true } = {}) {
    if (!openMenu) return;
    const { button, menu, dynamic } = openMenu;
    openMenu = null;
    button.setAttribute("aria-expanded", "false");
    if (dynamic) {
      button.removeAttribute("aria-controls");
      menu.remove();
    } else {
      menu.hidden = true;
    }
    if (restoreFocus && button.isConnected) button.focus();
  }

  function onMenuKeydown(event) {
    if (!openMenu) return;
    const items = menuItems(openMenu.menu);
    const index = items.indexOf(document.activeElement);
    let next = null;
    switch (event.key) {
      case "ArrowDown":
        next = items[(index + 1) % items.length];
        break;
      case "ArrowUp":
        next = items[(index - 1 + items.length) % items.length];
        break;
      case "Home":
        next = items[0];
        break;
      case "End":
        next = items[items.length - 1];
        break;
      case "Escape":
        event.preventDefault();
        event.stopPropagation();
        closeMenu();
        return;
      case "Tab":
        closeMenu({ restoreFocus: false });
        return;
      default:
        if (event.key.length === 1 && /\S/.test(event.key)) {
          const letter = event.key.toLowerCase();
          const ordered = [...items.slice(index + 1), ...items.slice(0, index + 1)];
          next = ordered.find((item) => item.textContent.trim().toLowerCase().startsWith(letter)) || null;
        }
        if (!next) return;
    }
    event.preventDefault();
    if (next) next.focus();
  }

  function onMenuButtonKeydown(event, open) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      open(event.key === "ArrowUp" ? "last" : "first");
    }
  }

  document.addEventListener("click", (event) => {
    if (openMenu && !openMenu.menu.contains(event.target) && !openMenu.button.contains(event.target)) {
      closeMenu({ restoreFocus: false });
    }
  });

  document.addEventListener("focusin", (event) => {
    if (openMenu && !openMenu.menu.contains(event.target) && event.target !== openMenu.button) {
      closeMenu({ restoreFocus: false });
    }
  });

  // The "..." menu beside "Invite new user".
  if (els.moreButton && els.moreMenu) {
    const openMore = (focus) => showMenu(els.moreButton, els.moreMenu, { focus });
    els.moreButton.addEventListener("click", () => {
      if (openMenu && openMenu.menu === els.moreMenu) closeMenu();
      else openMore("first");
    });
    els.moreButton.addEventListener("keydown", (event) => onMenuButtonKeydown(event, openMore));
    els.moreMenu.addEventListener("keydown", onMenuKeydown);
    els.exportLink.addEventListener("click", () => {
      // A real link: the browser downloads the file the server names (Content-Disposition).
      window.setTimeout(() => closeMenu(), 0);
      toast("Your CSV export is downloading.");
    });
  }

  function rowMenuHtml(user) {
    const item = (action, label, extra = "") =>
      `<li role="none"><button type="button" class="menu-item${extra}" role="menuitem" tabindex="-1" ` +
      `data-action="${action}">${label}</button></li>`;
    // The first item (where the menu opens) is harmless: it only opens the person's page.
    const parts = [
      `<li role="none"><a class="menu-item" role="menuitem" tabindex="-1" href="${PERSON_URL(user.id)}">View details</a></li>`,
      '<li role="separator" class="menu-separator"></li>',
    ];
    if (user.status !== "deactivated") {
      parts.push('<li role="presentation" class="menu-label" id="row-menu-role-label">Change role (asks first)</li>');
      parts.push('<li role="none"><ul role="group" class="menu-group" aria-labelledby="row-menu-role-label">');
      ROLES.forEach((role) => {
        const checked = role === user.role;
        parts.push(
          `<li role="none"><button type="button" class="menu-item menu-radio" role="menuitemradio" tabindex="-1" ` +
            `aria-checked="${checked}" data-action="role" data-role="${role}">${ROLE_LABELS[role]}</button></li>`,
        );
      });
      parts.push("</ul></li>");
      parts.push('<li role="separator" class="menu-separator"></li>');
    }
    if (user.status === "invite_pending") {
      parts.push(item("resend", "Resend invite"));
      parts.push(item("cancel", "Cancel invite…", " menu-danger"));
    } else if (user.status === "deactivated") {
      parts.push(item("reactivate", "Reactivate"));
    } else {
      parts.push(item("deactivate", "Deactivate…", " menu-danger"));
    }
    return parts.join("");
  }

  function openRowMenu(button, focus = "first") {
    const user = usersById.get(Number(button.dataset.id));
    if (!user) return;
    const menu = document.createElement("ul");
    menu.className = "menu menu-right";
    menu.id = "row-menu";
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", `Actions for ${displayName(user)}`);
    menu.dataset.id = String(user.id);
    menu.innerHTML = rowMenuHtml(user);
    menu.addEventListener("keydown", onMenuKeydown);
    menu.addEventListener("click", (event) => {
      const target = event.target.closest("[data-action]");
      if (!target) return;
      const id = Number(menu.dataset.id);
      const { action, role } = target.dataset;
      closeMenu();
      runAction(id, action, role);
    });
    button.parentElement.append(menu);
    button.setAttribute("aria-controls", "row-menu");
    showMenu(button, menu, { dynamic: true, focus });
  }

  els.rows.addEventListener("click", (event) => {
    const note = event.target.closest(".note-action");
    if (note) {
      runAction(Number(note.dataset.id), note.dataset.action);
      return;
    }
    const button = event.target.closest(".row-menu-button");
    if (!button) return;
    if (openMenu && openMenu.button === button) closeMenu();
    else openRowMenu(button);
  });

  els.rows.addEventListener("keydown", (event) => {
    const button = event.target.closest(".row-menu-button");
    if (button) onMenuButtonKeydown(event, (focus) => openRowMenu(button, focus));
  });

  // --- Dialogs --------------------------------------------------------------------------------

  function trapFocus(dialog) {
    dialog.addEventListener("keydown", (event) => {
      if (event.key !== "Tab") return;
      const focusable = [...dialog.querySelectorAll("button, [href], input, select, textarea, [tabindex]")].filter(
        (el) => !el.disabled && el.tabIndex >= 0 && el.offsetParent !== null,
      );
      if (!focusable.length) return;
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });
    dialog.querySelectorAll("[data-close]").forEach((button) => button.addEventListener("click", () => dialog.close()));
  }

  function confirmAction({ title, text, ok, cancel = "Cancel", danger = true }) {
    return new Promise((resolve) => {
      const dialog = els.confirmDialog;
      els.confirmTitle.textContent = title;
      els.confirmText.textContent = text;
      els.confirmOk.textContent = ok;
      els.confirmOk.classList.toggle("btn-danger", danger);
      els.confirmOk.classList.toggle("btn-primary", !danger);
      els.confirmCancel.textContent = cancel;
      dialog.returnValue = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
      els.confirmCancel.focus();
    });
  }

  if (els.confirmDialog) trapFocus(els.confirmDialog);

  // --- Row actions ----------------------------------------------------------------------------

  function focusRowButton(id) {
    const button = rowElement(id)?.querySelector(".row-menu-button");
    if (button) button.focus();
  }

  async function runAction(id, action, role) {
    const user = usersById.get(id);
    if (!user) return;
    const who = personLabel(user);
    const name = displayName(user);
    let request;
    let done;
    if (action === "role") {
      if (role === user.role) return;
      const lower = ROLE_LABELS[role].toLowerCase();
      const sure = await confirmAction(
        isMe(user) && role !== "admin"
          ? {
              title: `Make yourself ${lower}?`,
              text: "You will no longer be an admin and will lose access to this dashboard.",
              ok: `Make me ${lower}`,
              cancel: "Keep my role",
            }
          : {
              title: `Make ${who} ${lower}?`,
              text: `Their role changes from ${ROLE_LABELS[user.role]} to ${ROLE_LABELS[role]}.`,
              ok: `Make ${lower}`,
              cancel: "Keep role",
              danger: role !== "admin",
            },
      );
      if (!sure) return focusRowButton(id);
      request = () => api(`users/${id}/`, { method: "PATCH", body: { role } });
      done = (updated) => `${name} is now ${updated.role === "admin" ? "an" : "a"} ${ROLE_LABELS[updated.role].toLowerCase()}.`;
    } else if (action === "deactivate") {
      const sure = await confirmAction({
        title: `Deactivate ${who}?`,
        text: isMe(user)
          ? "You will be signed out at once and lose access to this organization."
          : "They are signed out at once and their API keys stop working. You can reactivate them later.",
        ok: "Deactivate",
        cancel: "Keep active",
      });
      if (!sure) return focusRowButton(id);
      request = () => api(`users/${id}/deactivate/`, { method: "POST" });
      done = () => `Deactivated ${name}.`;
    } else if (action === "reactivate") {
      request = () => api(`users/${id}/reactivate/`, { method: "POST" });
      done = (updated) => `Reactivated ${name}; status is now “${updated.status === "active" ? "Active" : updated.status_label}”.`;
    } else if (action === "resend") {
      request = () => api(`invites/${id}/resend/`, { method: "POST" });
      done = () => `Sent a new invite to ${user.email}. The previous link no longer works.`;
    } else if (action === "cancel") {
      const sure = await confirmAction({
        title: `Cancel the invite for ${user.email}?`,
        text: "The invite link stops working at once. You can invite them again later.",
        ok: "Cancel invite",
        cancel: "Keep invite",
      });
      if (!sure) return focusRowButton(id);
      request = () => api(`invites/${id}/`, { method: "DELETE" });
      done = () => `Cancelled the invite for ${user.email}.`;
    } else {
      return;
    }

    const row = rowElement(id);
    if (row) {
      row.classList.add("is-working");
      row.setAttribute("aria-busy", "true");
    }
    try {
      const updated = await request();
      if (action === "cancel") {
        toast(done());
        removeRow(id);
      } else {
        replaceRow(updated);
        toast(done(updated));
        if (action === "deactivate" && isMe(user)) {
          window.location.reload();
          return;
        }
        focusRowButton(id);
      }
      loadCounts({ background: true });
    } catch (error) {
      const current = rowElement(id);
      if (current) {
        current.classList.remove("is-working");
        current.removeAttribute("aria-busy");
      }
      toast(error.data.detail || error.message, { error: true });
      if (error.status === 404) loadList();
      else focusRowButton(id);
    }
  }

  // --- Selection and bulk actions ------------------------------------------------------------

  let selectionFilter = ""; // the filters the selection was made under

  function renderSelection() {
    if (!CAN_MANAGE || !els.bulkBar) return;
    const boxes = [...els.rows.querySelectorAll(".row-select")];
    boxes.forEach((box) => {
      box.checked = selected.has(Number(box.dataset.id));
      box.closest("tr").classList.toggle("is-selected", box.checked);
    });
    const onPage = boxes.filter((box) => box.checked).length;
    if (els.selectPage) {
      els.selectPage.checked = boxes.length > 0 && onPage === boxes.length;
      els.selectPage.indeterminate = onPage > 0 && onPage < boxes.length;
    }
    const count = selected.size;
    els.bulkBar.hidden = count === 0;
    els.bulkCount.textContent = count ? `${plural(count, "person", "people")} selected` : "";
    const more = count > 0 && count < total && onPage === boxes.length;
    els.bulkAllMatching.hidden = !more;
    if (more) els.bulkAllMatching.textContent = `Select all ${fmt(total)} matching`;
  }

  function clearSelection() {
    selected.clear();
    renderSelection();
  }

  function select(user, on) {
    const id = Number(user.id);
    if (on) selected.set(id, user);
    else selected.delete(id);
    selectionFilter = filterQuery().toString();
  }

  async function fetchAllMatching() {
    // Every id under the current filters, 500 a page (the list's largest page).
    const all = [];
    let page = 1;
    for (;;) {
      const query = filterQuery();
      query.set("ordering", state.ordering);
      query.set("page", String(page));
      query.set("page_size", String(ALL_PAGE_SIZE));
      const data = await api(`users/?${query}`);
      all.push(...(data.results || []));
      if (!data.next) return all;
      page += 1;
    }
  }

  const BULK_TEXT = {
    deactivate: {
      verb: "Deactivate",
      done: "Deactivated",
      applies: (u) => u.status === "active" || u.status === "inactive",
      note: "They are signed out at once and their API keys stop working.",
    },
    reactivate: { verb: "Reactivate", done: "Reactivated", applies: (u) => u.status === "deactivated", note: "" },
    set_role: { verb: "Change the role of", done: "Changed the role of", applies: () => true, note: "" },
    resend_invite: {
      verb: "Resend invites to",
      done: "Sent new invites to",
      applies: (u) => u.status === "invite_pending",
      note: "Each gets a new link; the old links stop working.",
    },
    cancel_invite: {
      verb: "Cancel the invites of",
      done: "Cancelled the invites of",
      applies: (u) => u.status === "invite_pending",
      note: "Their invite links stop working at once.",
    },
  };

  async function runBulk(action, people, { role } = {}) {
    const text = BULK_TEXT[action];
    const chosen = [...people];
    const applicable = chosen.filter((u) => text.applies(u) && !(action === "set_role" && u.role === role));
    const others = chosen.length - applicable.length;
    const target = action === "set_role" ? ` to ${ROLE_LABELS[role].toLowerCase()}` : "";
    if (!applicable.length) {
      toast(`${text.verb} ${plural(chosen.length, "person", "people")}${target}: nobody selected can be changed so.`, {
        error: true,
      });
      return;
    }
    const sure = await confirmAction({
      title: `${text.verb} ${plural(applicable.length, "person", "people")}${target}?`,
      text:
        `${plural(chosen.length, "person is", "people are")} selected: ${fmt(applicable.length)} will change` +
        (others ? `, ${fmt(others)} will be skipped (their state does not allow it)` : "") +
        ". The last active admin is always kept. " + text.note,
      ok: `${text.verb.split(" ")[0]} ${fmt(applicable.length)}`,
      cancel: "Go back",
      danger: action === "deactivate" || action === "cancel_invite" || action === "set_role",
    });
    if (!sure) return;
    const done = [];
    const skipped = [];
    try {
      const ids = chosen.map((u) => Number(u.id));
      for (let start = 0; start < ids.length; start += BULK_CHUNK) {
        const body = { action, ids: ids.slice(start, start + BULK_CHUNK) };
        if (action === "set_role") body.role = role;
        const result = await api("users/bulk/", { method: "POST", body });
        done.push(...result.done);
        skipped.push(...result.skipped);
      }
    } catch (error) {
      toast(error.data.detail || error.message, { error: true });
    }
    const byId = new Map(chosen.map((u) => [Number(u.id), u]));
    showBulkResult(action, done, skipped, byId, role);
    clearSelection();
    loadList();
    loadCounts();
    if (action === "deactivate" && done.some((id) => isMe(byId.get(id) || {}))) window.location.reload();
  }

  function showBulkResult(action, done, skipped, byId, role) {
    const text = BULK_TEXT[action];
    const label = (id) => {
      const user = byId.get(id);
      return user ? personLabel(user) : `#${id}`;
    };
    const target = action === "set_role" ? ` to ${ROLE_LABELS[role].toLowerCase()}` : "";
    els.bulkTitle.textContent = `${text.done} ${plural(done.length, "person", "people")}${target}`;
    let html = "";
    if (done.length) {
      html +=
        `<h3 class="summary-heading">Changed (${fmt(done.length)})</h3><ul class="summary-list summary-ok" id="bulk-done">` +
        done.map((id) => `<li><span class="summary-email">${esc(label(id))}</span></li>`).join("") +
        "</ul>";
    }
    if (skipped.length) {
      html +=
        `<h3 class="summary-heading">Skipped (${fmt(skipped.length)})</h3><ul class="summary-list summary-skipped" id="bulk-skipped">` +
        skipped
          .map((s) => `<li><span class="summary-email">${esc(label(Number(s.id)))}</span><span class="summary-reason">${esc(s.reason)}</span></li>`)
          .join("") +
        "</ul>";
    }
    els.bulkSummary.innerHTML = html;
    els.bulkDialog.showModal();
    els.bulkTitle.focus();
  }

  if (CAN_MANAGE && els.bulkBar) {
    trapFocus(els.bulkDialog);
    els.rows.addEventListener("change", (event) => {
      const box = event.target.closest(".row-select");
      if (!box) return;
      const user = usersById.get(Number(box.dataset.id));
      if (user) select(user, box.checked);
      renderSelection();
    });
    els.selectPage.addEventListener("change", () => {
      usersById.forEach((user) => select(user, els.selectPage.checked));
      renderSelection();
    });
    els.bulkAllMatching.addEventListener("click", async () => {
      els.bulkAllMatching.disabled = true;
      els.bulkAllMatching.textContent = "Selecting…";
      try {
        (await fetchAllMatching()).forEach((user) => select(user, true));
      } catch (error) {
        toast(error.data.detail || error.message, { error: true });
      }
      els.bulkAllMatching.disabled = false;
      renderSelection();
      els.bulkCount.focus?.();
    });
    els.bulkClear.addEventListener("click", () => {
      clearSelection();
      els.search.focus();
    });
    els.bulkBar.addEventListener("click", (event) => {
      const button = event.target.closest("[data-bulk]");
      if (!button) return;
      const action = button.dataset.bulk;
      runBulk(action, selected.values(), { role: els.bulkRole.value });
    });
  }

  if (els.resendExpired) {
    els.resendExpired.addEventListener("click", async () => {
      closeMenu();
      let expired;
      try {
        const query = new URLSearchParams({ status: "invite_pending", ordering: "added", page_size: String(ALL_PAGE_SIZE) });
        const invites = [];
        for (let page = 1; ; page += 1) {
          query.set("page", String(page));
          const data = await api(`users/?${query}`);
          invites.push(...(data.results || []));
          if (!data.next) break;
        }
        expired = invites.filter((user) => user.invite && user.invite.expired);
      } catch (error) {
        toast(error.data.detail || error.message, { error: true });
        return;
      }
      if (!expired.length) {
        toast("No invite has expired.");
        return;
      }
      runBulk("resend_invite", expired);
    });
  }

  // --- Invite dialog --------------------------------------------------------------------------

  function parseEmails(text) {
    const seen = new Set();
    const emails = [];
    text.split(/[\s,;]+/).forEach((raw) => {
      const email = raw.trim().replace(/^<|>$/g, "");
      if (email && !seen.has(email.toLowerCase())) {
        seen.add(email.toLowerCase());
        emails.push(email);
      }
    });
    return emails;
  }

  function showInviteErrors(detail, items) {
    els.inviteError.textContent = detail;
    els.inviteError.hidden = !detail;
    els.inviteEmailErrors.innerHTML = items
      .map(({ email, message }) =>
        email
          ? `<li><span class="email-error-address">${esc(email)}</span> ${esc(message)}</li>`
          : `<li>${esc(message)}</li>`,
      )
      .join("");
    els.inviteEmailErrors.hidden = items.length === 0;
    els.inviteEmails.setAttribute("aria-invalid", String(items.length > 0 || Boolean(detail)));
  }

  // Reads a 400 answer: the API names the invalid addresses in its message ({"errors": {"emails":
  // ["'x' is not a valid e-mail address; ..."]}); each named address is marked inline, the message
  // itself is shown once above. Index-keyed errors ({"emails": {"2": [...]}}) are read as well.
  function inviteErrors(data, sent) {
    const items = [];
    const messages = [];
    const addMessage = (text) => {
      if (text && !messages.includes(text)) messages.push(text);
    };
    Object.values(data.errors || {}).forEach((value) => {
      if (value && !Array.isArray(value) && typeof value === "object") {
        Object.entries(value).forEach(([key, list]) => {
          const email = /^\d+$/.test(key) ? sent[Number(key)] : key;
          [].concat(list).forEach((message) => items.push({ email: email || "", message: String(message) }));
        });
        return;
      }
      [].concat(value || []).forEach((message) => {
        const text = String(message);
        const lower = text.toLowerCase();
        let named = sent.filter((email) => {
          const e = email.toLowerCase();
          return lower.includes(`'${e}'`) || lower.includes(`"${e}"`);
        });
        if (!named.length) named = sent.filter((email) => lower.includes(email.toLowerCase()));
        named.forEach((email) => items.push({ email, message: "check this address" }));
        addMessage(text);
      });
    });
    const detail = messages.length ? messages.join(" ") : items.length ? "" : data.detail;
    return { detail, items };
  }

  function resetInviteForm({ keepRole = true } = {}) {
    els.inviteForm.reset();
    if (!keepRole) els.inviteRole.value = "member";
    showInviteErrors("", []);
    els.inviteForm.hidden = false;
    els.inviteResult.hidden = true;
    els.inviteSubmit.disabled = false;
    els.inviteSubmit.textContent = "Send invites";
  }

  function renderInviteSummary(data) {
    const invited = data.invited || [];
    const skipped = data.skipped || [];
    els.inviteResultTitle.textContent = invited.length
      ? `Invited ${plural(invited.length, "person", "people")}`
      : "Nobody new to invite";
    let html = "";
    if (invited.length) {
      html +=
        '<h3 class="summary-heading">Invited</h3><ul class="summary-list summary-ok">' +
        invited
          .map((u) => `<li><span class="summary-email">${esc(u.email)}</span><span class="role role-${esc(u.role)}">${esc(ROLE_LABELS[u.role] || u.role)}</span></li>`)
          .join("") +
        "</ul>";
    }
    if (skipped.length) {
      html +=
        `<h3 class="summary-heading">Skipped (${fmt(skipped.length)})</h3><ul class="summary-list summary-skipped">` +
        skipped
          .map((s) => `<li><span class="summary-email">${esc(s.email)}</span><span class="summary-reason">${esc(s.reason)}</span></li>`)
          .join("") +
        "</ul>";
    }
    els.inviteSummary.innerHTML = html;
    els.inviteForm.hidden = true;
    els.inviteResult.hidden = false;
    els.inviteResultTitle.focus();
  }

  async function submitInvites(event) {
    event.preventDefault();
    const emails = parseEmails(els.inviteEmails.value);
    if (!emails.length) {
      showInviteErrors("", [{ email: "", message: "Enter at least one email address." }]);
      els.inviteEmails.focus();
      return;
    }
    showInviteErrors("", []);
    els.inviteSubmit.disabled = true;
    els.inviteSubmit.textContent = "Sending…";
    try {
      const data = await api("invites/", { method: "POST", body: { emails, role: els.inviteRole.value } });
      renderInviteSummary(data || {});
      const sent = (data && data.invited) || [];
      if (sent.length) {
        toast(`Invited ${plural(sent.length, "person", "people")}. The list shows pending invites, newest first.`);
        // Show the new people instead of leaving them on the last page of the current sort.
        highlight = new Set(sent.map((user) => Number(user.id)));
        // Filters that still hold every new person stay; the others would hide them.
        const term = state.search.toLowerCase();
        if (!sent.every((user) => (user.email || "").toLowerCase().includes(term))) state.search = "";
        if (!sent.every((user) => user.role === state.role)) state.role = "";
        state.status = ["invite_pending"];
        state.ordering = "-added";
        state.page = 1;
        clearSelection();
        reload({ push: true });
      } else {
        loadList();
        loadCounts();
      }
    } catch (error) {
      if (error.status === 400) {
        const { detail, items } = inviteErrors(error.data, emails);
        showInviteErrors(detail, items);
      } else {
        showInviteErrors(error.data.detail || error.message, []);
      }
      els.inviteEmails.focus();
    } finally {
      els.inviteSubmit.disabled = false;
      els.inviteSubmit.textContent = "Send invites";
    }
  }

  if (els.inviteDialog) {
    trapFocus(els.inviteDialog);
    els.inviteOpen.addEventListener("click", () => {
      resetInviteForm({ keepRole: true });
      els.inviteDialog.showModal();
      els.inviteEmails.focus();
    });
    els.inviteForm.addEventListener("submit", submitInvites);
    // Editing the addresses clears the previous answer's errors; they described other input.
    els.inviteEmails.addEventListener("input", () => {
      if (els.inviteEmails.getAttribute("aria-invalid") === "true") showInviteErrors("", []);
    });
    els.inviteEmails.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) els.inviteForm.requestSubmit();
    });
    els.inviteMore.addEventListener("click", () => {
      resetInviteForm({ keepRole: true });
      els.inviteEmails.focus();
    });
    els.inviteDialog.addEventListener("close", () => {
      if (els.inviteOpen.isConnected) els.inviteOpen.focus();
    });
  }

  // --- Tooltips: shown by CSS on hover/focus; Escape hides them until the pointer/focus leaves --

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || openMenu) return;
    els.rows.querySelectorAll(".td-status:hover, .td-status:focus-within").forEach((cell) => cell.classList.add("tip-dismissed"));
  });

  const undismiss = (event) => {
    els.rows.querySelectorAll(".tip-dismissed").forEach((cell) => {
      if (!cell.contains(event.target)) cell.classList.remove("tip-dismissed");
    });
  };
  els.rows.addEventListener("mouseover", undismiss);
  els.rows.addEventListener("focusin", undismiss);

  // --- Controls -------------------------------------------------------------------------------

  let searchTimer = 0;
  function applySearch() {
    window.clearTimeout(searchTimer);
    const value = els.search.value.trim();
    if (value === state.search) return;
    state.search = value;
    state.page = 1;
    reload({ push: false });
  }

  els.search.addEventListener("input", () => {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(applySearch, SEARCH_DEBOUNCE_MS);
  });
  els.search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") applySearch();
  });

  els.role.addEventListener("change", () => {
    state.role = els.role.value;
    state.page = 1;
    reload({ push: true });
  });

  els.chips.addEventListener("click", (event) => {
    const chip = event.target.closest(".chip");
    if (!chip) return;
    const code = chip.dataset.status;
    if (!code) {
      state.status = [];
    } else {
      const chosen = new Set(state.status);
      if (chosen.has(code)) chosen.delete(code);
      else chosen.add(code);
      state.status = chosen.size === STATUSES.length ? [] : STATUSES.filter((s) => chosen.has(s));
    }
    state.page = 1;
    reload({ push: true, counts: false });
  });

  els.table.querySelector("thead").addEventListener("click", (event) => {
    const th = event.target.closest("th[data-sort]");
    if (!th || !event.target.closest(".sort-button")) return;
    const key = th.dataset.sort;
    const current = state.ordering;
    let next;
    if (current === key) next = `-${key}`;
    else if (current === `-${key}`) next = key;
    else next = key === "days_active" ? `-${key}` : key; // most active first is the useful start
    state.ordering = next;
    state.page = 1;
    reload({ push: true, counts: false });
  });

  const goToPage = (page) => {
    state.page = page;
    reload({ push: true, counts: false });
    els.table.scrollIntoView({ block: "nearest" });
  };
  els.prev.addEventListener("click", () => goToPage(Math.max(1, state.page - 1)));
  els.next.addEventListener("click", () => goToPage(state.page + 1));

  els.retry.addEventListener("click", () => {
    if (sessionEnded) {
      window.location.reload(); // the server sends a signed-out visitor to the login page
      return;
    }
    els.error.hidden = true;
    loadList();
    loadCounts();
  });

  // Someone was changed elsewhere on the page (the dormancy banner's reactivate): show it.
  document.addEventListener("orgdash:users-changed", () => {
    loadList({ background: true });
    loadCounts({ background: true });
  });

  els.clearFilters.addEventListener("click", () => {
    state.search = "";
    state.status = [];
    state.role = "";
    state.page = 1;
    reload({ push: true });
    els.search.focus();
  });

  window.addEventListener("popstate", () => {
    readUrl();
    syncControls();
    loadList();
    loadCounts();
  });

  // "/" jumps to the search box, as in most list pages.
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !document.querySelector("dialog[open]")) {
      event.preventDefault();
      els.search.focus();
    }
  });

  // Background refresh keeps statuses and "last active" fresh without disturbing the reader.
  window.setInterval(() => {
    const interacting =
      document.hidden ||
      openMenu ||
      document.querySelector("dialog[open]") ||
      els.table.contains(document.activeElement) ||
      els.table.matches(":hover") ||
      listController;
    if (interacting || !loadedOnce) return;
    loadList({ background: true });
    loadCounts({ background: true });
  }, REFRESH_MS);

  // --- Start ----------------------------------------------------------------------------------

  readUrl();
  syncControls();
  writeUrl({ push: false });
  loadList();
  loadCounts();
})();
