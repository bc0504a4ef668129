// The list itself: one HTML string per page from escaped values, the pager, the empty state and
// the loading and error states.
import { STATUS_MESSAGES } from "../lib/api.js";
import { formatNumber } from "../lib/format.js";
import { CAN_MANAGE, PAGE_SIZE, els, isMe, state, view } from "./context.js";
import {
  ROLE_LABELS,
  colourOf,
  displayName,
  esc,
  initialsOf,
  inviteNote,
  lastActiveWhen,
  personUrl,
  tooltipLines,
} from "./people.js";
import { renderSelection, selected } from "./selection.js";
import { hasFilters } from "./url-state.js";

const DOTS_SVG =
  '<svg class="dots" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">' +
  '<circle cx="3" cy="8" r="1.6"/><circle cx="8" cy="8" r="1.6"/><circle cx="13" cy="8" r="1.6"/></svg>';

function rowHtml(user, index, count) {
  const id = Number(user.id);
  const pending = user.status === "invite_pending";
  const name = displayName(user);
  const you = isMe(user) ? ' <span class="you">(you)</span>' : "";
  const primary = pending
    ? `<a class="person-link person-pending" href="${personUrl(id)}">Pending invite</a>`
    : `<a class="person-link person-name" href="${personUrl(id)}" title="${esc(name)}">${esc(name)}</a>${you}`;
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
    `<tr class="user-row${up}${view.highlight.has(id) ? " row-updated" : ""}" data-id="${id}" data-status="${esc(user.status)}">` +
    select +
    `<td class="td-name"><div class="person"><span class="avatar avatar-c${colourOf(user.email || String(id))}" ` +
    `aria-hidden="true">${esc(initialsOf(user))}</span><div class="person-text">` +
    `<div class="person-primary">${primary}</div><div class="person-secondary">${secondary}</div></div></div></td>` +
    `<td class="td-email" data-label="Email"><span class="cell-text" title="${esc(user.email)}">${esc(user.email)}</span></td>` +
    `<td class="td-role" data-label="Role"><span class="role role-${esc(user.role)}">${esc(ROLE_LABELS[user.role] || user.role)}</span></td>` +
    `<td class="td-status" data-label="Last active"><span class="status-trigger${note ? " has-note" : ""}" tabindex="0" aria-describedby="tip-${id}">` +
    `<span class="badge badge-${esc(user.status)}">${esc(user.status_label)}</span>${whenHtml}</span>${noteHtml}` +
    `<span class="tip" role="tooltip" id="tip-${id}">${tip}</span></td>` +
    `<td class="td-days num" data-label="Days active">${formatNumber(user.days_active || 0)}</td>` +
    `<td class="td-actions">${actions}</td>` +
    "</tr>"
  );
}

export function renderRows(results) {
  view.usersById.clear();
  results.forEach((user) => view.usersById.set(Number(user.id), user));
  view.pageRows = results.length;
  els.rows.innerHTML = results.map((user, i) => rowHtml(user, i, results.length)).join("");
  view.highlight = new Set();
  renderSelection();
}

export const rowElement = (id) => els.rows.querySelector(`tr[data-id="${Number(id)}"]`);

export function replaceRow(user) {
  const row = rowElement(user.id);
  if (!row) return;
  view.usersById.set(Number(user.id), user);
  const index = Array.prototype.indexOf.call(els.rows.rows, row);
  const template = document.createElement("template");
  template.innerHTML = rowHtml(user, index, els.rows.rows.length);
  const fresh = template.content.firstElementChild;
  fresh.classList.add("row-updated");
  row.replaceWith(fresh);
}

/** Takes a row out after its person left the list; true when the page is now empty. */
export function removeRow(id) {
  const row = rowElement(id);
  if (!row) return false;
  const following = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  view.usersById.delete(Number(id));
  selected.delete(Number(id));
  renderSelection();
  view.total = Math.max(0, view.total - 1);
  view.pageRows = Math.max(0, view.pageRows - 1);
  renderPager();
  const target = following && following.querySelector(".row-menu-button");
  (target || els.search).focus();
  return view.pageRows === 0;
}

export function renderPager(data) {
  const { total, pageRows } = view;
  if (total === 0 || pageRows === 0) {
    els.range.textContent = total === 0 ? "No users" : `0 of ${formatNumber(total)}`;
  } else {
    const from = (state.page - 1) * PAGE_SIZE + 1;
    els.range.textContent = `${formatNumber(from)}–${formatNumber(from + pageRows - 1)} of ${formatNumber(total)}`;
  }
  const hasNext = data ? Boolean(data.next) : state.page * PAGE_SIZE < total;
  els.prev.disabled = state.page <= 1;
  els.next.disabled = !hasNext;
}

export function renderEmpty() {
  const { total } = view;
  const filtered = hasFilters(state);
  const onlyMe = total === 1 && !filtered && [...view.usersById.values()].every(isMe);
  const show = total === 0 || onlyMe;
  els.empty.hidden = !show;
  els.table.classList.toggle("is-empty", total === 0);
  if (!show) return;
  if (total === 0 && filtered) {
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

export function setBusy(busy) {
  els.rows.setAttribute("aria-busy", String(busy));
  els.table.classList.toggle("is-loading", busy && view.loadedOnce);
}

export function showListError(error) {
  let message = error.data.detail || error.message;
  view.sessionEnded = error.status === 401 || error.status === 403;
  if (view.sessionEnded) message = STATUS_MESSAGES[error.status];
  els.errorText.textContent = `Could not load users. ${message}`;
  els.retry.textContent = view.sessionEnded ? "Log in again" : "Try again";
  els.error.hidden = false;
  if (!view.loadedOnce) {
    els.rows.innerHTML = "";
    els.range.textContent = "\u00a0";
  }
}
