// Selection checkboxes and the bulk bar: deactivate, reactivate, change the role, resend or cancel
// invites for everyone selected (POST users/bulk/, 1,000 ids a call), then a summary of who changed
// and who was skipped. Also "Resend all expired invites" from the "…" menu.
import { confirmAction, trapFocus } from "../lib/dialogs.js";
import { formatNumber, plural } from "../lib/format.js";
import { CAN_MANAGE, els, isMe, state, usersApi, view } from "./context.js";
import { loadCounts, loadList } from "./list.js";
import { closeMenu } from "./menus.js";
import { ROLE_LABELS, esc, personLabel } from "./people.js";
import { clearSelection, renderSelection, select, selected } from "./selection.js";
import { toast } from "./toasts.js";
import { filterQuery } from "./url-state.js";

const BULK_CHUNK = 1000; // POST users/bulk/ takes at most 1,000 ids
const ALL_PAGE_SIZE = 500; // the list's largest page

// Why a selected person is left as they are, as the server decides: `skip(person, role)` is null
// for someone the action changes. The caller is never deactivated or demoted in bulk (only from
// their own row, where it is confirmed on its own); `keepsAdmin`: the last active admin is kept.
const BULK_TEXT = {
  deactivate: {
    verb: "Deactivate",
    done: "Deactivated",
    skip: (u) =>
      u.status === "invite_pending"
        ? "pending invite"
        : u.status === "deactivated"
          ? "already deactivated"
          : isMe(u)
            ? ME
            : null,
    keepsAdmin: true,
    note: "They are signed out at once and their API keys stop working.",
  },
  reactivate: {
    verb: "Reactivate",
    done: "Reactivated",
    skip: (u) => (u.status === "deactivated" ? null : u.status === "invite_pending" ? "pending invite" : "not deactivated"),
    note: "",
  },
  set_role: {
    verb: "Change the role of",
    done: "Changed the role of",
    skip: (u, role) =>
      u.role === role ? `already ${ROLE_LABELS[role].toLowerCase()}` : isMe(u) ? ME : null,
    keepsAdmin: true,
    note: "",
  },
  resend_invite: {
    verb: "Resend invites to",
    done: "Sent new invites to",
    skip: (u) => (u.status === "invite_pending" ? null : "not a pending invite"),
    note: "Each gets a new link; the old links stop working.",
  },
  cancel_invite: {
    verb: "Cancel the invites of",
    done: "Cancelled the invites of",
    skip: (u) => (u.status === "invite_pending" ? null : "not a pending invite"),
    note: "Their invite links stop working at once.",
  },
};
const ME = "you (a bulk action never changes your own access)";

/** "2 already deactivated, you (…)": the reasons of the people skipped, counted. */
function skippedSummary(reasons) {
  const counts = new Map();
  for (const reason of reasons) counts.set(reason, (counts.get(reason) || 0) + 1);
  return [...counts].map(([reason, count]) => (reason === ME ? ME : `${formatNumber(count)} ${reason}`)).join(", ");
}

/** Every person under `query` (the list's filters), 500 a page. */
async function fetchAll(query) {
  const all = [];
  query.set("page_size", String(ALL_PAGE_SIZE));
  for (let page = 1; ; page += 1) {
    query.set("page", String(page));
    const data = await usersApi(`users/?${query}`);
    all.push(...(data.results || []));
    if (!data.next) return all;
  }
}

function fetchAllMatching() {
  const query = filterQuery(state);
  query.set("ordering", state.ordering);
  return fetchAll(query);
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
      `<h3 class="summary-heading">Changed (${formatNumber(done.length)})</h3><ul class="summary-list summary-ok" id="bulk-done">` +
      done.map((id) => `<li><span class="summary-email">${esc(label(id))}</span></li>`).join("") +
      "</ul>";
  }
  if (skipped.length) {
    html +=
      `<h3 class="summary-heading">Skipped (${formatNumber(skipped.length)})</h3><ul class="summary-list summary-skipped" id="bulk-skipped">` +
      skipped
        .map(
          (s) =>
            `<li><span class="summary-email">${esc(label(Number(s.id)))}</span><span class="summary-reason">${esc(s.reason)}</span></li>`,
        )
        .join("") +
      "</ul>";
  }
  els.bulkSummary.innerHTML = html;
  els.bulkDialog.showModal();
  els.bulkTitle.focus();
}

async function runBulk(action, people, { role } = {}) {
  const text = BULK_TEXT[action];
  const chosen = [...people];
  const reasons = chosen.map((u) => text.skip(u, role)).filter(Boolean);
  const applicable = chosen.filter((u) => !text.skip(u, role));
  const target = action === "set_role" ? ` to ${ROLE_LABELS[role].toLowerCase()}` : "";
  if (!applicable.length) {
    toast(
      `${text.verb} ${plural(chosen.length, "person", "people")}${target}: nobody selected can be changed so ` +
        `(${skippedSummary(reasons)}).`,
      { error: true },
    );
    return;
  }
  const sure = await confirmAction({
    title: `${text.verb} ${plural(applicable.length, "person", "people")}${target}?`,
    text:
      `${plural(chosen.length, "person is", "people are")} selected: ${formatNumber(applicable.length)} will change` +
      (reasons.length ? `, ${formatNumber(reasons.length)} will be skipped (${skippedSummary(reasons)})` : "") +
      "." +
      (text.keepsAdmin ? " The last active admin is always kept." : "") +
      (text.note ? ` ${text.note}` : ""),
    ok: `${text.verb.split(" ")[0]} ${formatNumber(applicable.length)}`,
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
      const result = await usersApi("users/bulk/", { method: "POST", body });
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
}

export function wireBulk() {
  if (CAN_MANAGE && els.bulkBar) {
    trapFocus(els.bulkDialog);
    // The selection is cleared and the bulk bar hidden by then: go on from where a new one starts.
    els.bulkDialog.addEventListener("close", () => els.selectPage.focus());
    els.rows.addEventListener("change", (event) => {
      const box = event.target.closest(".row-select");
      if (!box) return;
      const user = view.usersById.get(Number(box.dataset.id));
      if (user) select(user, box.checked);
      renderSelection();
    });
    els.selectPage.addEventListener("change", () => {
      view.usersById.forEach((user) => select(user, els.selectPage.checked));
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
      runBulk(button.dataset.bulk, selected.values(), { role: els.bulkRole.value });
    });
  }

  if (els.resendExpired) {
    els.resendExpired.addEventListener("click", async () => {
      closeMenu();
      let expired;
      try {
        const invites = await fetchAll(new URLSearchParams({ status: "invite_pending", ordering: "added" }));
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
}
