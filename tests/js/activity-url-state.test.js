import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULTS, changedChoices, choicesQuery, parseChoices } from "../../static/orgdash/activity/url-state.js";

test("an empty query string is the plain tab", () => {
  assert.deepEqual(parseChoices(""), { summary: "3m", period: "6m", interval: "day", view: "total", top: "30d" });
  assert.equal(choicesQuery(DEFAULTS), "");
});

test("a shared link's choices are read back as they were written", () => {
  const choices = { summary: "all", period: "12m", interval: "month", view: "surface", top: "3m" };
  const query = choicesQuery(choices);
  assert.equal(query, "summary=all&period=12m&interval=month&view=surface&top=3m");
  assert.deepEqual(parseChoices(`?${query}`), choices);
});

test("defaults are left out, so going back to one gives the plain URL", () => {
  assert.equal(choicesQuery({ ...DEFAULTS, period: "6m", interval: "week" }), "interval=week");
  assert.equal(choicesQuery({ ...DEFAULTS, period: "30d" }), "period=30d");
});

test("unknown or broken values fall back to the defaults", () => {
  const choices = parseChoices("?summary=5y&period=6M&interval=hour&view=&top=30d&page=2");
  assert.deepEqual(choices, DEFAULTS);
  assert.equal(choicesQuery(choices), "");
});

test("Back or Forward changes only the choices that differ", () => {
  const before = parseChoices("?period=30d&interval=week");
  assert.deepEqual(changedChoices(before, parseChoices("?period=30d&interval=week")), []);
  assert.deepEqual(changedChoices(before, parseChoices("?interval=week")), ["period"]);
  assert.deepEqual(changedChoices(before, parseChoices("?summary=12m&top=all")), ["summary", "period", "interval", "top"]);
});
