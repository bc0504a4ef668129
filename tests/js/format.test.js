import assert from "node:assert/strict";
import { test } from "node:test";

import {
  formatBucket,
  formatDate,
  formatDay,
  formatDayRange,
  formatExact,
  formatNumber,
  formatPercent,
  formatRelative,
  formatTimestamp,
  plural,
} from "../../static/orgdash/lib/format.js";

const NOW = Date.parse("2026-11-29T12:00:00Z");
const ago = (seconds) => new Date(NOW - seconds * 1000).toISOString();

test("relative times read as a person would say them", () => {
  assert.equal(formatRelative(ago(5), NOW), "just now");
  assert.equal(formatRelative(ago(59), NOW), "just now");
  assert.equal(formatRelative(ago(60), NOW), "1 minute ago");
  assert.equal(formatRelative(ago(5 * 60), NOW), "5 minutes ago");
  assert.equal(formatRelative(ago(3 * 3600), NOW), "3 hours ago");
  assert.equal(formatRelative(ago(86400), NOW), "yesterday");
  assert.equal(formatRelative(ago(3 * 86400), NOW), "3 days ago");
  assert.equal(formatRelative(ago(8 * 30.4375 * 86400), NOW), "8 months ago");
  assert.equal(formatRelative(ago(2 * 365.25 * 86400), NOW), "2 years ago");
  assert.equal(formatRelative(ago(-2 * 86400), NOW), "in 2 days");
});

test("relative times take a Date as well as an API time", () => {
  assert.equal(formatRelative(new Date(NOW - 7200 * 1000), NOW), "2 hours ago");
});

test("API times are written in UTC", () => {
  assert.equal(formatDate("2025-03-14T23:30:00Z"), "Mar 14, 2025");
  assert.equal(formatExact("2025-03-14T09:05:59Z"), "2025-03-14 09:05 UTC");
  assert.equal(formatTimestamp("2026-11-20T13:04:00.123Z"), "2026-11-20 13:04:00");
  assert.equal(formatTimestamp(""), "");
});

test("calendar days print as themselves", () => {
  assert.equal(formatDay("2026-03-01"), "Mar 1, 2026");
  assert.equal(formatDayRange("2026-01-05", "2026-03-14"), "Jan 5 – Mar 14, 2026");
  assert.equal(formatDayRange("2025-12-01", "2026-03-14"), "Dec 1, 2025 – Mar 14, 2026");
  assert.equal(formatBucket("2026-03-01", "month"), "March 2026");
  assert.equal(formatBucket("2026-03-09", "week"), "Week of Mar 9, 2026");
  assert.equal(formatBucket("2026-03-14", "day"), "Sat, Mar 14, 2026");
});

test("numbers, percentages and plurals", () => {
  assert.equal(formatNumber(1234567), "1,234,567");
  assert.equal(formatPercent(0.1234), "12.3%");
  assert.equal(plural(1, "day active", "days active"), "1 day active");
  assert.equal(plural(0, "day active", "days active"), "0 days active");
  assert.equal(plural(1500, "person", "people"), "1,500 people");
});
