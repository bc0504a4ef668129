// What every part of the Users tab shares: the page's settings (from #users-app), its elements,
// the view state (mirrored in the URL) and the rows on screen.
import { api } from "../lib/api.js";
import { DEFAULT_ORDERING } from "./url-state.js";
import { sameEmail } from "./people.js";

export const root = document.getElementById("users-app");
const data = root ? root.dataset : {};
export const API_ROOT = data.apiRoot || "/api/v1/";
export const PAGE_SIZE = Number(data.pageSize) || 50;
export const CAN_MANAGE = data.canManage === "true";
const ME = data.meEmail || "";

export const isMe = (user) => sameEmail(user, ME);

const $ = (id) => document.getElementById(id);
export const els = {
  table: $("users-table"),
  rows: $("users-rows"),
  search: $("users-search"),
  role: $("users-role"),
  ordering: $("users-ordering"),
  chips: $("status-chips"),
  range: $("users-range"),
  prev: $("page-prev"),
  next: $("page-next"),
  error: $("users-error"),
  errorText: $("users-error-text"),
  retry: $("users-retry"),
  empty: $("users-empty"),
  emptyTitle: $("users-empty-title"),
  emptyText: $("users-empty-text"),
  clearFilters: $("users-clear-filters"),
  toasts: $("toasts"),
  alerts: $("toasts-alert"),
  exportLink: $("export-link"),
  moreButton: $("more-button"),
  moreMenu: $("more-menu"),
  inviteOpen: $("invite-open"),
  inviteDialog: $("invite-dialog"),
  inviteForm: $("invite-form"),
  inviteEmails: $("invite-emails"),
  inviteRole: $("invite-role"),
  inviteError: $("invite-error"),
  inviteEmailErrors: $("invite-email-errors"),
  inviteSubmit: $("invite-submit"),
  inviteResult: $("invite-result"),
  inviteResultTitle: $("invite-result-title"),
  inviteSummary: $("invite-summary"),
  inviteMore: $("invite-more"),
  confirmDialog: $("confirm-dialog"),
  selectPage: $("select-page"),
  bulkBar: $("bulk-bar"),
  bulkCount: $("bulk-count"),
  bulkAllMatching: $("bulk-all-matching"),
  bulkRole: $("bulk-role"),
  bulkClear: $("bulk-clear"),
  bulkDialog: $("bulk-dialog"),
  bulkTitle: $("bulk-title"),
  bulkSummary: $("bulk-summary"),
  resendExpired: $("resend-expired"),
};

/** The view: search, statuses, role, ordering and page, as in the URL. */
export const state = { search: "", status: [], role: "", ordering: DEFAULT_ORDERING, page: 1 };

/** The rows on screen and what the list knows about them. */
export const view = {
  usersById: new Map(),
  total: 0, // people matching the filters
  pageRows: 0,
  loadedOnce: false,
  sessionEnded: false,
  highlight: new Set(), // ids to flash after the list reloads (new invites)
};

export const USERS_MESSAGES = {
  404: "That user no longer exists. The list has been refreshed.",
};

/** The API below API_ROOT, with the Users tab's wording for an unknown person. */
export const usersApi = (path, options = {}) => api(API_ROOT + path, { messages: USERS_MESSAGES, ...options });
