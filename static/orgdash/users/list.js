// Loading the list and the status counts for the view state, and keeping the URL in step.
import { PAGE_SIZE, els, state, usersApi, view } from "./context.js";
import { renderCounts, syncControls } from "./controls.js";
import { clearSelection, selectionOutlivesFilters } from "./selection.js";
import { renderEmpty, renderPager, renderRows, setBusy, showListError } from "./table.js";
import { STATUSES, filterQuery, parseState, stateQuery } from "./url-state.js";

let listController = null;
let countsController = null;

/** True while a list request is on its way. */
export const listLoading = () => listController !== null;

export function readUrl() {
  Object.assign(state, parseState(window.location.search));
}

export function writeUrl({ push }) {
  const qs = stateQuery(state);
  const url = window.location.pathname + (qs ? `?${qs}` : "");
  if (url === window.location.pathname + window.location.search) return;
  window.history[push ? "pushState" : "replaceState"](null, "", url);
}

export async function loadList({ background = false } = {}) {
  if (listController) listController.abort();
  const controller = new AbortController();
  listController = controller;
  const query = filterQuery(state);
  query.set("ordering", state.ordering);
  query.set("page", String(state.page));
  query.set("page_size", String(PAGE_SIZE));
  if (!background) setBusy(true);
  let data;
  try {
    data = await usersApi(`users/?${query}`, { background, signal: controller.signal });
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
  view.total = Number(data.count) || 0;
  renderRows(data.results || []);
  if (!view.loadedOnce) performance.mark("orgdash:users-first-rows"); // read by the browser tests
  view.loadedOnce = true;
  renderPager(data);
  renderEmpty();
  setBusy(false);
}

function normaliseCounts(data) {
  const source = data || {};
  const counts = {};
  STATUSES.forEach((code) => {
    counts[code] = Number(source[code]) || 0;
  });
  counts.total = Number.isFinite(Number(source.total))
    ? Number(source.total)
    : STATUSES.reduce((sum, code) => sum + counts[code], 0);
  return counts;
}

export async function loadCounts({ background = false } = {}) {
  if (countsController) countsController.abort();
  const controller = new AbortController();
  countsController = controller;
  const query = new URLSearchParams();
  if (state.search) query.set("search", state.search);
  if (state.role) query.set("role", state.role);
  try {
    const data = await usersApi(`users/counts/?${query}`, { background, signal: controller.signal });
    if (countsController === controller) renderCounts(normaliseCounts(data));
  } catch (error) {
    // The counts decorate the filter chips; the list itself stays usable without them.
    if (error.name !== "AbortError" && countsController === controller) renderCounts({});
  }
}

/** After the view state changed: URL, controls, list and (unless only the order or page changed) counts. */
export function reload({ push, counts = true }) {
  if (selectionOutlivesFilters()) clearSelection();
  writeUrl({ push });
  syncControls();
  loadList();
  if (counts) loadCounts();
}
