// The Users tab's dormancy banner: one click reactivates someone the policy deactivated.
import { api } from "../orgdash/lib/api.js";

const banner = document.getElementById("dormancy-banner");
if (banner) {
  const apiRoot = banner.dataset.apiRoot || "/api/v1/";
  banner.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-reactivate]");
    if (!button) return;
    const status = button.parentElement.querySelector("[role=status]");
    button.disabled = true;
    try {
      await api(`${apiRoot}users/${button.dataset.reactivate}/reactivate/`, { method: "POST" });
      status.textContent = "Reactivated";
      button.remove();
      // The Users list listens for this to reload its rows.
      document.dispatchEvent(new CustomEvent("orgdash:users-changed"));
    } catch (err) {
      status.textContent = err.message;
      button.disabled = false;
    }
  });
}
