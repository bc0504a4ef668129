/* The Provisioning page: rotating a live SCIM token asks first; a new token can be copied. */
/* global document, navigator */
import { confirmAction } from "../orgdash/lib/dialogs.js";

const form = document.getElementById("scim-token-form");
if (form && form.dataset.rotate) {
  form.addEventListener("submit", async (event) => {
    const confirm = form.elements.confirm;
    if (confirm.value === form.dataset.rotate) return;
    event.preventDefault();
    const sure = await confirmAction({
      title: "Rotate the SCIM token?",
      text: "The current token stops working at once: provisioning fails until your identity provider is given the new token.",
      ok: "Rotate token",
      cancel: "Keep the current token",
    });
    if (!sure) return;
    confirm.value = form.dataset.rotate;
    form.requestSubmit();
  });
}

const secret = document.getElementById("scim-new-token");
if (secret) {
  // Focused and selected, so a phone shows it first and Ctrl+C copies it.
  secret.focus();
  secret.select();
  const copy = document.getElementById("scim-copy-token");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret.value);
      copy.textContent = "Copied";
    } catch {
      secret.select();
      copy.textContent = "Selected: press Ctrl+C";
    }
  });
}
