// The JSON API from a dashboard page: session cookie, CSRF header, and the API's one error shape
// ({"detail": "...", "errors": {"field": ["..."]}}) turned into an ApiError whose message a person
// can read, whatever went wrong (an answer without JSON, a status without a detail, no network).

export const NETWORK_MESSAGE = "Could not reach the server. Check your connection and try again.";

export const STATUS_MESSAGES = {
  401: "Your session has ended. Log in again to continue.",
  403: "You are not allowed to do this. Your session may have ended; log in again.",
};

/** The sentence to show for a failed answer: the API's own detail first, else one for the status. */
export const errorMessage = (status, data, messages = STATUS_MESSAGES) =>
  (data && typeof data.detail === "string" && data.detail) ||
  messages[status] ||
  STATUS_MESSAGES[status] ||
  `The server could not complete the request (${status}). Try again in a moment.`;

export class ApiError extends Error {
  constructor(status, data, messages) {
    const detail = errorMessage(status, data, messages);
    super(detail);
    this.name = "ApiError";
    this.status = status; // 0: the server was not reached
    this.data = { ...(data || {}), detail };
    this.errors = this.data.errors || {};
  }
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

/**
 * Calls the API and resolves to the parsed JSON (null for an empty answer); rejects with an
 * ApiError, or with the AbortError itself when `signal` aborted the request. `background` marks
 * page polling, which the server does not count as the person's activity. `messages` gives
 * page-specific sentences for statuses whose answer carries no detail.
 */
export async function api(url, { method = "GET", body, background = false, signal, messages } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (background) headers["X-Orgdash-Background"] = "1";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, { detail: NETWORK_MESSAGE });
  }
  let data = null;
  if (response.status !== 204 && (response.headers.get("Content-Type") || "").includes("json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (!response.ok) throw new ApiError(response.status, data, messages);
  return data;
}
