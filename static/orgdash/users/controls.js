// The controls above the list drawn from the view state: search box, role, status chips with
// their counts, the sort menu and headers, and the export link.
import { formatNumber } from "../lib/format.js";
import { API_ROOT, els, state } from "./context.js";
import { exportQuery } from "./url-state.js";

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

/** Chip counts: {invite_pending, active, inactive, deactivated, total}; {} blanks them. */
export function renderCounts(counts) {
  els.chips.querySelectorAll("[data-count-for]").forEach((span) => {
    const code = span.dataset.countFor;
    const value = code ? counts[code] : counts.total;
    span.textContent = value === undefined ? "" : formatNumber(value);
  });
}

export function syncControls() {
  if (els.search.value.trim() !== state.search) els.search.value = state.search;
  els.role.value = state.role;
  els.ordering.value = state.ordering;
  renderChips();
  renderSortHeaders();
  if (els.exportLink) {
    const qs = exportQuery(state);
    els.exportLink.href = `${API_ROOT}users/export.csv${qs ? `?${qs}` : ""}`;
  }
}
