// The "Invite new user" dialog: addresses and a role, then who was invited and who was skipped.
// New invites are shown at once: the list switches to pending invites, newest first.
import { trapFocus } from "../lib/dialogs.js";
import { formatNumber, plural } from "../lib/format.js";
import { els, state, usersApi, view } from "./context.js";
import { inviteErrors, parseEmails } from "./invite-input.js";
import { loadCounts, loadList, reload } from "./list.js";
import { ROLE_LABELS, esc } from "./people.js";
import { clearSelection } from "./selection.js";
import { toast } from "./toasts.js";

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
        .map(
          (u) =>
            `<li><span class="summary-email">${esc(u.email)}</span><span class="role role-${esc(u.role)}">${esc(ROLE_LABELS[u.role] || u.role)}</span></li>`,
        )
        .join("") +
      "</ul>";
  }
  if (skipped.length) {
    html +=
      `<h3 class="summary-heading">Skipped (${formatNumber(skipped.length)})</h3><ul class="summary-list summary-skipped">` +
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

function showNewInvites(sent) {
  toast(`Invited ${plural(sent.length, "person", "people")}. The list shows pending invites, newest first.`);
  // Show the new people instead of leaving them on the last page of the current sort.
  view.highlight = new Set(sent.map((user) => Number(user.id)));
  // Filters that still hold every new person stay; the others would hide them.
  const term = state.search.toLowerCase();
  if (!sent.every((user) => (user.email || "").toLowerCase().includes(term))) state.search = "";
  if (!sent.every((user) => user.role === state.role)) state.role = "";
  state.status = ["invite_pending"];
  state.ordering = "-added";
  state.page = 1;
  clearSelection();
  reload({ push: true });
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
    const data = await usersApi("invites/", { method: "POST", body: { emails, role: els.inviteRole.value } });
    renderInviteSummary(data || {});
    const sent = (data && data.invited) || [];
    if (sent.length) {
      showNewInvites(sent);
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

export function wireInviteDialog() {
  if (!els.inviteDialog) return;
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
