import assert from "node:assert/strict";
import { test } from "node:test";

import {
  SURFACES, surfaceLineStyle, surfaceWording, totalWording, valueWords,
} from "../../static/orgdash/activity/surfaces.js";

test("the four surfaces keep their order, labels and colours", () => {
  assert.deepEqual(SURFACES.map((surface) => surface.key), ["web", "api", "sdk", "runs"]);
  assert.deepEqual(SURFACES.map((surface) => surface.color), ["#2b59c3", "#c77c00", "#1f8a5b", "#8e44ad"]);
});

test("surfaces are separate lines: never stacked, never filled", () => {
  assert.deepEqual(surfaceLineStyle(), { type: "line", fill: false, stacked: false });
});

test("the surface view says a person on several surfaces counts in each, never that it is stacked", () => {
  for (const interval of ["day", "week", "month"]) {
    const wording = surfaceWording(interval);
    assert.match(wording.subtitle, new RegExp(`in each ${interval}: one line per surface, not a total$`));
    assert.match(wording.legendNote, /A person active on several surfaces counts in each/);
    assert.match(wording.tableNote, /counts in each column, so a row doesn't add up to the users active/);
    assert.match(wording.chartLabel, /not stacked/);
    for (const text of Object.values(wording)) assert.doesNotMatch(text, /\(stacked\)/);
  }
});

test("the All view keeps its words", () => {
  assert.equal(totalWording("week").subtitle, "How many users were active in each week");
});

test("a tooltip line names the surface, or says active users", () => {
  assert.equal(valueWords(12, "API"), " users on API");
  assert.equal(valueWords(1, "SDK"), " user on SDK");
  assert.equal(valueWords(3), " active users");
  assert.equal(valueWords(1), " active user");
});
