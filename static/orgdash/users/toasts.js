// Short messages after an action: polite ones in the status region, errors in the alert region.
import { els } from "./context.js";

const TOAST_MS = 6000;

export function toast(message, { error = false } = {}) {
  const item = document.createElement("div");
  item.className = `toast${error ? " toast-error" : ""}`;
  item.textContent = message;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => item.remove());
  item.append(close);
  (error ? els.alerts : els.toasts).append(item);
  window.setTimeout(() => item.remove(), error ? TOAST_MS * 2 : TOAST_MS);
}

/** The messages the server left for this page (#server-messages: what another page just did), as toasts. */
export function showServerMessages() {
  document.querySelectorAll("#server-messages li").forEach((item) => {
    toast(item.textContent, { error: item.dataset.level === "error" });
  });
}
