// Status tooltips are shown by CSS on hover and focus; Escape hides them until the pointer or the
// focus leaves the cell (WCAG 1.4.13: dismissible without moving).
import { els } from "./context.js";
import { menuIsOpen } from "./menus.js";

export function wireTooltips() {
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || menuIsOpen()) return;
    els.rows
      .querySelectorAll(".td-status:hover, .td-status:focus-within")
      .forEach((cell) => cell.classList.add("tip-dismissed"));
  });
  const undismiss = (event) => {
    els.rows.querySelectorAll(".tip-dismissed").forEach((cell) => {
      if (!cell.contains(event.target)) cell.classList.remove("tip-dismissed");
    });
  };
  els.rows.addEventListener("mouseover", undismiss);
  els.rows.addEventListener("focusin", undismiss);
}
