// Search, role, status chips, sortable headers and the pager: each changes the view state, which
// the URL keeps (a chip, sort or page is a history entry; typing is not).
import { els, state, view } from "./context.js";
import { syncControls } from "./controls.js";
import { loadCounts, loadList, readUrl, reload } from "./list.js";
import { nextOrdering, toggleStatus } from "./url-state.js";

const SEARCH_DEBOUNCE_MS = 250;
let searchTimer = 0;

function applySearch() {
  window.clearTimeout(searchTimer);
  const value = els.search.value.trim();
  if (value === state.search) return;
  state.search = value;
  state.page = 1;
  reload({ push: false });
}

function goToPage(page) {
  state.page = page;
  reload({ push: true, counts: false });
  els.table.scrollIntoView({ block: "nearest" });
}

export function wireFilters() {
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

  els.ordering.addEventListener("change", () => {
    state.ordering = els.ordering.value;
    state.page = 1;
    reload({ push: true, counts: false });
  });

  els.chips.addEventListener("click", (event) => {
    const chip = event.target.closest(".chip");
    if (!chip) return;
    state.status = toggleStatus(state.status, chip.dataset.status);
    state.page = 1;
    reload({ push: true, counts: false });
  });

  els.table.querySelector("thead").addEventListener("click", (event) => {
    const th = event.target.closest("th[data-sort]");
    if (!th || !event.target.closest(".sort-button")) return;
    state.ordering = nextOrdering(state.ordering, th.dataset.sort);
    state.page = 1;
    reload({ push: true, counts: false });
  });

  els.prev.addEventListener("click", () => goToPage(Math.max(1, state.page - 1)));
  els.next.addEventListener("click", () => goToPage(state.page + 1));

  els.retry.addEventListener("click", () => {
    if (view.sessionEnded) {
      window.location.reload(); // the server sends a signed-out visitor to the login page
      return;
    }
    els.error.hidden = true;
    loadList();
    loadCounts();
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
}
