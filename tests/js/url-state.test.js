import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DEFAULT_ORDERING,
  STATUSES,
  exportQuery,
  filterQuery,
  hasFilters,
  nextOrdering,
  parseState,
  stateQuery,
  toggleStatus,
} from "../../static/orgdash/users/url-state.js";

const PLAIN = { search: "", status: [], role: "", ordering: DEFAULT_ORDERING, page: 1 };

test("an empty query string is the plain list", () => {
  assert.deepEqual(parseState(""), PLAIN);
  assert.equal(stateQuery(PLAIN), "");
  assert.equal(hasFilters(PLAIN), false);
});

test("a shared link's view is read back as it was written", () => {
  const view = { search: "ann lee", status: ["invite_pending", "inactive"], role: "viewer", ordering: "name", page: 3 };
  const query = stateQuery(view);
  assert.equal(query, "search=ann+lee&status=invite_pending%2Cinactive&role=viewer&ordering=name&page=3");
  assert.deepEqual(parseState(`?${query}`), view);
  assert.equal(hasFilters(view), true);
});

test("unknown or broken values fall back to the defaults", () => {
  const state = parseState("?status=active,bogus,deactivated&role=owner&ordering=-password&page=-2&search=%20x%20");
  assert.deepEqual(state, { ...PLAIN, search: "x", status: ["active", "deactivated"] });
  assert.equal(parseState("?page=abc").page, 1);
  assert.equal(parseState("?ordering=-days_active").ordering, "-days_active");
});

test("statuses keep the chips' order whatever order the link gives", () => {
  assert.deepEqual(parseState("?status=deactivated,invite_pending").status, ["invite_pending", "deactivated"]);
});

test("the filters alone leave out order and page", () => {
  const query = filterQuery({ search: "a", status: ["active"], role: "admin", ordering: "email", page: 4 });
  assert.equal(query.toString(), "search=a&status=active&role=admin");
});

test("a column header flips its own direction and starts a new one ascending", () => {
  assert.equal(nextOrdering("-last_active", "name"), "name");
  assert.equal(nextOrdering("name", "name"), "-name");
  assert.equal(nextOrdering("-name", "name"), "name");
  assert.equal(nextOrdering("name", "days_active"), "-days_active");
});

test("status chips toggle, and every status chosen is the same as none", () => {
  assert.deepEqual(toggleStatus([], "active"), ["active"]);
  assert.deepEqual(toggleStatus(["active"], "invite_pending"), ["invite_pending", "active"]);
  assert.deepEqual(toggleStatus(["invite_pending", "active"], "active"), ["invite_pending"]);
  assert.deepEqual(toggleStatus(["active"], ""), []);
  assert.deepEqual(toggleStatus(STATUSES.slice(0, 3), STATUSES[3]), []);
});

test("the export link keeps the list's filters and order, not its page", () => {
  const view = { search: "ann", status: ["inactive"], role: "viewer", ordering: "name", page: 3 };
  assert.equal(exportQuery(view), "search=ann&status=inactive&role=viewer&ordering=name");
  assert.equal(exportQuery(PLAIN), "");
  assert.equal(exportQuery({ ...PLAIN, ordering: "-days_active" }), "ordering=-days_active");
});
