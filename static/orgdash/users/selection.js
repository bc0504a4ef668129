// Bulk selection: id -> User, kept across pages, and the bar that says how many are chosen.
// A selection belongs to the filters it was made under.
import { formatNumber, plural } from "../lib/format.js";
import { CAN_MANAGE, els, state, view } from "./context.js";
import { filterQuery } from "./url-state.js";

export const selected = new Map();
let selectionFilter = ""; // the filters the selection was made under

export const selectionOutlivesFilters = () => selected.size > 0 && filterQuery(state).toString() !== selectionFilter;

export function renderSelection() {
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
  const more = count > 0 && count < view.total && onPage === boxes.length;
  els.bulkAllMatching.hidden = !more;
  if (more) els.bulkAllMatching.textContent = `Select all ${formatNumber(view.total)} matching`;
}

export function clearSelection() {
  selected.clear();
  renderSelection();
}

export function select(user, on) {
  const id = Number(user.id);
  if (on) selected.set(id, user);
  else selected.delete(id);
  selectionFilter = filterQuery(state).toString();
}
