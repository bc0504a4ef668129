// The JSON API from a page of the dashboard: session cookie, CSRF header, one error shape.
const MESSAGES = {
  401: "Your session has ended. Log in again to continue.",
  403: "You are not allowed to do this. Your session may have ended; log in again.",
};

export class ApiError extends Error {
  constructor(status, data) {
    super(data.detail);
    this.status = status;
    this.errors = data.errors || {};
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

export async function api(url, { method = "GET", body, background = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (background) headers["X-Orgdash-Background"] = "1";
  let response;
  try {
    response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, { detail: "Could not reach the server. Check your connection and try again." });
  }
  let data = null;
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    try { data = await response.json(); } catch (err) { data = null; }
  }
  if (!response.ok) {
    const detail = (data && data.detail) || MESSAGES[response.status] ||
      `The server could not complete the request (${response.status}). Try again in a moment.`;
    throw new ApiError(response.status, { ...(data || {}), detail });
  }
  return data;
}
