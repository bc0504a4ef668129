// The Users list's view state and its query string (?search=&status=&role=&ordering=&page=):
// every choice lives in the URL so a view can be shared and reloaded. Pure functions only.

export const STATUSES = ["invite_pending", "active", "inactive", "deactivated"];
export const ROLES = ["admin", "member", "viewer"];
export const SORT_FIELDS = ["last_active", "status", "name", "email", "role", "added", "days_active"];
export const DEFAULT_ORDERING = "-last_active";

export const validOrdering = (value) => Boolean(value) && SORT_FIELDS.includes(value.replace(/^-/, ""));

/** A query string -> {search, status, role, ordering, page}; anything unknown falls back to the default. */
export function parseState(search) {
  const query = new URLSearchParams(search);
  const wanted = (query.get("status") || "").split(",");
  const page = Number.parseInt(query.get("page") || "1", 10);
  return {
    search: (query.get("search") || "").trim(),
    status: STATUSES.filter((s) => wanted.includes(s)),
    role: ROLES.includes(query.get("role")) ? query.get("role") : "",
    ordering: validOrdering(query.get("ordering")) ? query.get("ordering") : DEFAULT_ORDERING,
    page: Number.isFinite(page) && page > 0 ? page : 1,
  };
}

/** The filters alone (what the counts, the export and a selection depend on). */
export function filterQuery(state) {
  const query = new URLSearchParams();
  if (state.search) query.set("search", state.search);
  if (state.status.length) query.set("status", state.status.join(","));
  if (state.role) query.set("role", state.role);
  return query;
}

/** The CSV export of what is on screen: the same people in the same order, every page of them. */
export function exportQuery(state) {
  const query = filterQuery(state);
  if (state.ordering !== DEFAULT_ORDERING) query.set("ordering", state.ordering);
  return query.toString();
}

/** The page's own query string: defaults are left out, so the plain list has a plain URL. */
export function stateQuery(state) {
  const query = filterQuery(state);
  if (state.ordering !== DEFAULT_ORDERING) query.set("ordering", state.ordering);
  if (state.page > 1) query.set("page", String(state.page));
  return query.toString();
}

export const hasFilters = (state) => Boolean(state.search || state.status.length || state.role);

/** Clicking a column header: the same column flips direction; a new one starts ascending. */
export function nextOrdering(current, key) {
  if (current === key) return `-${key}`;
  if (current === `-${key}`) return key;
  return key === "days_active" ? `-${key}` : key; // most active first is the useful start
}

/** Clicking a status chip ("" is "All"): choosing every status is the same as choosing none. */
export function toggleStatus(current, code) {
  if (!code) return [];
  const chosen = new Set(current);
  if (chosen.has(code)) chosen.delete(code);
  else chosen.add(code);
  return chosen.size === STATUSES.length ? [] : STATUSES.filter((s) => chosen.has(s));
}
