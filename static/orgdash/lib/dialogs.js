// Modal dialogs of the dashboard: a confirmation whose buttons say what each one does, and a
// focus trap so Tab stays inside an open dialog.

/** Resolves true when the person chose `ok`; focus starts on the harmless `cancel` button. */
export function confirmAction({ title, text, ok, cancel = "Cancel", danger = true }) {
  const dialog = document.getElementById("confirm-dialog");
  const okButton = dialog.querySelector("#confirm-ok");
  const cancelButton = dialog.querySelector("#confirm-cancel");
  return new Promise((resolve) => {
    dialog.querySelector("#confirm-title").textContent = title;
    dialog.querySelector("#confirm-text").textContent = text;
    okButton.textContent = ok;
    okButton.classList.toggle("btn-danger", danger);
    okButton.classList.toggle("btn-primary", !danger);
    cancelButton.textContent = cancel;
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    cancelButton.focus();
  });
}

/** Keeps Tab and Shift+Tab inside `dialog`; its [data-close] buttons close it. */
export function trapFocus(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const focusable = [...dialog.querySelectorAll("button, [href], input, select, textarea, [tabindex]")].filter(
      (el) => !el.disabled && el.tabIndex >= 0 && el.offsetParent !== null,
    );
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
  dialog.querySelectorAll("[data-close]").forEach((button) => button.addEventListener("click", () => dialog.close()));
}
