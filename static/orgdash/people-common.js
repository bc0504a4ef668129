/*
 * Shared by the person page and the profile page: JSON calls to /api/v1/ with the session and
 * CSRF token, and a confirmation dialog (#confirm-dialog) whose buttons say what each one does.
 */
const API_ROOT = "/api/v1/";

export class ApiError extends Error {
  constructor(status, data) {
    super((data && data.detail) || `The server could not complete the request (${status}). Try again in a moment.`);
    this.status = status;
    this.data = data || {};
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

export async function api(path, { method = "GET", body, background = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (background) headers["X-Orgdash-Background"] = "1"; // page polling is not the person's activity
  let response;
  try {
    response = await fetch(API_ROOT + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (err) {
    throw new ApiError(0, { detail: "Could not reach the server. Check your connection and try again." });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Resolves true when the person chose `ok`; focus starts on the harmless `cancel` button. */
export function confirmAction({ title, text, ok, cancel = "Cancel", danger = true }) {
  const dialog = document.getElementById("confirm-dialog");
  return new Promise((resolve) => {
    dialog.querySelector("#confirm-title").textContent = title;
    dialog.querySelector("#confirm-text").textContent = text;
    const okButton = dialog.querySelector("#confirm-ok");
    const cancelButton = dialog.querySelector("#confirm-cancel");
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
