/* The profile page: revoking a key asks first (in a dialog; without this script, on a confirm
   step the server shows); a new key's secret can be copied. */
import { confirmAction } from "./lib/dialogs.js";

document.querySelectorAll(".revoke-form").forEach((form) => {
  form.addEventListener("submit", async (event) => {
    if (form.dataset.confirmed === "true") return;
    event.preventDefault();
    const sure = await confirmAction({
      title: `Revoke the key “${form.dataset.label}”?`,
      text: "Scripts using it stop working at once. This cannot be undone.",
      ok: "Revoke key",
      cancel: "Keep key",
    });
    if (!sure) return;
    form.dataset.confirmed = "true";
    const confirmed = document.createElement("input"); // without it the server asks on a page of its own
    confirmed.type = "hidden";
    confirmed.name = "confirm";
    confirmed.value = "revoke";
    form.append(confirmed);
    form.requestSubmit();
  });
});

// The secret is shown once, below the profile and password forms: bring it into view (phones).
document.getElementById("new-key")?.focus();
document.getElementById("revoke-confirm")?.focus();

const copy = document.getElementById("copy-key");
if (copy) {
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(document.getElementById("new-key-secret").textContent.trim());
      copy.textContent = "Copied";
    } catch (err) {
      window.getSelection().selectAllChildren(document.getElementById("new-key-secret"));
      copy.textContent = "Selected: press Ctrl+C";
    }
  });
}
