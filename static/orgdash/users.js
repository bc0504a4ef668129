// The Users tab (/org/dashboard/): list, search, filters, sorting and pagination against
// GET /api/v1/users/, invites, row and bulk actions. Each concern is a module under users/;
// this one wires them to the page and starts it.
import { trapFocus } from "./lib/dialogs.js";
import { wireBulk } from "./users/bulk.js";
import { els, root, view } from "./users/context.js";
import { syncControls } from "./users/controls.js";
import { wireFilters } from "./users/filters.js";
import { wireInviteDialog } from "./users/invite.js";
import { listLoading, loadCounts, loadList, readUrl, writeUrl } from "./users/list.js";
import { menuIsOpen, wireMenus } from "./users/menus.js";
import { wireRowActions } from "./users/row-actions.js";
import { showServerMessages } from "./users/toasts.js";
import { wireTooltips } from "./users/tooltips.js";

const REFRESH_MS = 60000;

function refreshInBackground() {
  loadList({ background: true });
  loadCounts({ background: true });
}

function start() {
  wireMenus();
  wireRowActions();
  if (els.confirmDialog) trapFocus(els.confirmDialog);
  wireBulk();
  wireInviteDialog();
  wireTooltips();
  wireFilters();

  // Someone was changed elsewhere on the page (the dormancy banner's reactivate): show it.
  document.addEventListener("orgdash:users-changed", refreshInBackground);

  // Background refresh keeps statuses and "last active" fresh without disturbing the reader.
  window.setInterval(() => {
    const interacting =
      document.hidden ||
      menuIsOpen() ||
      document.querySelector("dialog[open]") ||
      els.table.contains(document.activeElement) ||
      els.table.matches(":hover") ||
      listLoading();
    if (interacting || !view.loadedOnce) return;
    refreshInBackground();
  }, REFRESH_MS);

  readUrl();
  syncControls();
  writeUrl({ push: false });
  loadList();
  loadCounts();
  showServerMessages();
}

if (root) start();
