// Org settings: the dormancy policy with a live preview of its terms, and the usage reports.
// Text is only ever inserted with textContent.
import { api } from "../orgdash/lib/api.js";

const app = document.getElementById("settings-app");
const API_ROOT = app.dataset.apiRoot || "/api/v1/";

function showErrors(form, box, err, { focus = false } = {}) {
  form.querySelectorAll("[data-error-for]").forEach((node) => { node.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  let placed = false;
  for (const [field, messages] of Object.entries(err.errors || {})) {
    const slot = form.querySelector(`[data-error-for="${field}"]`);
    if (!slot) continue;
    slot.textContent = messages.join(" ");
    const input = form.elements[field];
    if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    placed = true;
  }
  box.textContent = err.message;
  box.hidden = placed;
  // After a save, the first field in error takes focus (and scrolls into view): on a phone it is
  // often far above the button that was pressed. The live preview never moves focus.
  const invalid = form.querySelector("[aria-invalid=true]");
  if (focus && invalid) invalid.focus();
}

function flash(node, text) {
  node.textContent = text;
  window.setTimeout(() => { if (node.textContent === text) node.textContent = ""; }, 4000);
}

// --- dormancy policy ----------------------------------------------------------------------

const dormancyForm = document.getElementById("dormancy-form");
const dormancyError = document.getElementById("dormancy-error");
const previewWarn = document.getElementById("preview-warn");
const previewDeactivate = document.getElementById("preview-deactivate");
const previewStatus = document.getElementById("preview-status");
const previewSample = document.getElementById("preview-sample");

// An emptied field is sent as it is, so the answer says a number is missing rather than judging 0.
const days = (input) => (input.value.trim() === "" ? "" : Number(input.value));

function policyTerms() {
  const exempt = [...dormancyForm.querySelectorAll("input[name=exempt_roles]:checked")].map((box) => box.value);
  return {
    enabled: dormancyForm.elements.enabled.checked,
    after_days: days(dormancyForm.elements.after_days),
    warn_days_before: days(dormancyForm.elements.warn_days_before),
    exempt_roles: exempt,
  };
}

function personLine(person) {
  const item = document.createElement("li");
  const who = document.createElement("span");
  who.className = "preview-who";
  who.textContent = person.name ? `${person.name} (${person.email})` : person.email;
  const what = document.createElement("span");
  what.className = `preview-action preview-${person.policy_action}`;
  what.textContent = person.policy_action === "deactivate" ? "deactivated" : "warned";
  const seen = document.createElement("span");
  seen.className = "muted";
  seen.textContent = person.last_active ? `last active ${person.last_active.slice(0, 10)}` : `never active, added ${person.added.slice(0, 10)}`;
  item.append(who, " ", what, " ", seen);
  return item;
}

let previewRequest = 0;
async function refreshPreview() {
  const terms = policyTerms();
  if (terms.after_days === "" || terms.warn_days_before === "") {
    // An empty parameter would preview the saved terms instead: say what is missing.
    previewRequest += 1;
    previewWarn.textContent = "–";
    previewDeactivate.textContent = "–";
    previewSample.replaceChildren();
    previewStatus.textContent = "No preview: give both numbers of days.";
    return;
  }
  const params = new URLSearchParams({
    after_days: String(terms.after_days),
    warn_days_before: String(terms.warn_days_before),
    exempt_roles: terms.exempt_roles.join(","),
  });
  const mine = ++previewRequest;
  previewStatus.textContent = "Updating the preview…";
  try {
    const data = await api(`${API_ROOT}settings/dormancy/preview/?${params}`, { background: true });
    if (mine !== previewRequest) return;
    showErrors(dormancyForm, dormancyError, null);
    previewWarn.textContent = String(data.would_warn);
    previewDeactivate.textContent = String(data.would_deactivate);
    previewSample.replaceChildren(...data.sample.map(personLine));
    const shown = data.sample.length;
    const total = data.would_warn + data.would_deactivate;
    previewStatus.textContent = total === 0 ? "Nobody would be warned or deactivated today."
      : shown < total ? `The first ${shown} of ${total}:` : "Who:";
  } catch (err) {
    if (mine !== previewRequest) return;
    previewWarn.textContent = "–";
    previewDeactivate.textContent = "–";
    previewSample.replaceChildren();
    previewStatus.textContent = "No preview: fix the terms above.";
    showErrors(dormancyForm, dormancyError, err);
  }
}

let previewTimer = 0;
dormancyForm.addEventListener("input", () => {
  window.clearTimeout(previewTimer);
  previewTimer = window.setTimeout(refreshPreview, 250);
});

dormancyForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("dormancy-save");
  button.disabled = true;
  try {
    const saved = await api(`${API_ROOT}settings/dormancy/`, { method: "PUT", body: policyTerms() });
    showErrors(dormancyForm, dormancyError, null);
    flash(document.getElementById("dormancy-saved"), saved.enabled ? "Saved. The policy is on: it runs daily." : "Saved. The policy is off.");
  } catch (err) {
    showErrors(dormancyForm, dormancyError, err, { focus: true });
  } finally {
    button.disabled = false;
  }
});

refreshPreview();

// --- usage reports ------------------------------------------------------------------------

const reportsForm = document.getElementById("reports-form");
const reportsError = document.getElementById("reports-error");
const reportsSaved = document.getElementById("reports-saved");

reportsForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("reports-save");
  const recipients = reportsForm.elements.recipients.value.split(/[\s,;]+/).filter(Boolean);
  button.disabled = true;
  try {
    const saved = await api(`${API_ROOT}settings/reports/`, {
      method: "PUT", body: { frequency: reportsForm.elements.frequency.value, recipients },
    });
    reportsForm.elements.recipients.value = saved.recipients.join(", ");
    showErrors(reportsForm, reportsError, null);
    flash(reportsSaved, saved.frequency === "off" ? "Saved. Reports are off." : `Saved. Reports go out ${saved.frequency}.`);
  } catch (err) {
    showErrors(reportsForm, reportsError, err, { focus: true });
  } finally {
    button.disabled = false;
  }
});

document.getElementById("reports-send").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const frequency = reportsForm.elements.frequency.value;
  button.disabled = true;
  try {
    const sent = await api(`${API_ROOT}settings/reports/send/`, {
      method: "POST", body: frequency === "off" ? {} : { frequency },
    });
    showErrors(reportsForm, reportsError, null);
    flash(reportsSaved, `The report for ${sent.start} to ${sent.end} is on its way to ${sent.email}.`);
  } catch (err) {
    showErrors(reportsForm, reportsError, err);
  } finally {
    button.disabled = false;
  }
});
