import assert from "node:assert/strict";
import { test } from "node:test";

import {
  bucketEnd,
  partialCut,
  partialCuts,
  partialFootnote,
  partialNote,
  pointTitle,
} from "../../static/orgdash/activity/buckets.js";

// --- The API's answer, as API.md describes it --------------------------------------------------

const toUtc = (iso) => new Date(`${iso}T00:00:00Z`);
const iso = (date) => date.toISOString().slice(0, 10);

function addDays(day, days) {
  const date = toUtc(day);
  date.setUTCDate(date.getUTCDate() + days);
  return iso(date);
}

// N calendar months back, clamped to the month's last day (as dateutil's relativedelta).
function monthsBack(day, months) {
  const date = toUtc(day);
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() - months, 1));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(date.getUTCDate(), last));
  return iso(target);
}

function periodStart(period, end, firstDay) {
  if (period === "30d") return addDays(end, -29);
  if (period === "all") return firstDay;
  return addDays(monthsBack(end, Number.parseInt(period, 10)), 1);
}

function bucketStart(day, interval) {
  if (interval === "month") return `${day.slice(0, 8)}01`;
  const weekday = (toUtc(day).getUTCDay() + 6) % 7; // Monday first
  return addDays(day, -weekday);
}

function nextBucket(day, interval) {
  if (interval === "week") return addDays(day, 7);
  const date = toUtc(day);
  return iso(new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)));
}

function timeseries(period, interval, end, firstDay) {
  const start = periodStart(period, end, firstDay);
  const series = [];
  if (interval === "day") {
    for (let day = start; day <= end; day = addDays(day, 1)) series.push({ date: day, active_users: 3 });
  } else {
    for (let day = bucketStart(start, interval); day <= end; day = nextBucket(day, interval)) {
      const last = addDays(nextBucket(day, interval), -1);
      series.push({ date: day, active_users: 3, partial: day < start || last > end });
    }
  }
  return { period, start, end, series };
}

// --- Which points are partial --------------------------------------------------------------------

const NONE = "";
// [period, interval, points, first bucket, how it is cut, last bucket, how it is cut]
const MONDAY_30_NOV = [
  ["30d", "day", 30, "2026-11-01", NONE, "2026-11-30", "end"],
  ["30d", "week", 6, "2026-10-26", "start", "2026-11-30", "end"],
  ["30d", "month", 1, "2026-11-01", NONE, "2026-11-01", NONE],
  ["3m", "day", 92, "2026-08-31", NONE, "2026-11-30", "end"],
  ["3m", "week", 14, "2026-08-31", NONE, "2026-11-30", "end"],
  ["3m", "month", 4, "2026-08-01", "start", "2026-11-01", NONE],
  ["6m", "day", 184, "2026-05-31", NONE, "2026-11-30", "end"],
  ["6m", "week", 28, "2026-05-25", "start", "2026-11-30", "end"],
  ["6m", "month", 7, "2026-05-01", "start", "2026-11-01", NONE],
  ["12m", "day", 365, "2025-12-01", NONE, "2026-11-30", "end"],
  ["12m", "week", 53, "2025-12-01", NONE, "2026-11-30", "end"],
  ["12m", "month", 12, "2025-12-01", NONE, "2026-11-01", NONE],
  ["all", "day", 534, "2025-06-15", NONE, "2026-11-30", "end"],
  ["all", "week", 78, "2025-06-09", "start", "2026-11-30", "end"],
  ["all", "month", 18, "2025-06-01", "start", "2026-11-01", NONE],
];
const SUNDAY_29_NOV = [
  ["30d", "day", 30, "2026-10-31", NONE, "2026-11-29", "end"],
  ["30d", "week", 5, "2026-10-26", "start", "2026-11-23", NONE],
  ["30d", "month", 2, "2026-10-01", "start", "2026-11-01", "end"],
  ["3m", "day", 92, "2026-08-30", NONE, "2026-11-29", "end"],
  ["3m", "week", 14, "2026-08-24", "start", "2026-11-23", NONE],
  ["3m", "month", 4, "2026-08-01", "start", "2026-11-01", "end"],
  ["6m", "day", 184, "2026-05-30", NONE, "2026-11-29", "end"],
  ["6m", "week", 27, "2026-05-25", "start", "2026-11-23", NONE],
  ["6m", "month", 7, "2026-05-01", "start", "2026-11-01", "end"],
  ["12m", "day", 365, "2025-11-30", NONE, "2026-11-29", "end"],
  ["12m", "week", 53, "2025-11-24", "start", "2026-11-23", NONE],
  ["12m", "month", 13, "2025-11-01", "start", "2026-11-01", "end"],
  ["all", "day", 27, "2026-11-03", NONE, "2026-11-29", "end"],
  ["all", "week", 4, "2026-11-02", "start", "2026-11-23", NONE],
  ["all", "month", 1, "2026-11-01", "start+end", "2026-11-01", "start+end"],
];

const cutName = (cut) => [cut.start && "start", cut.end && "end"].filter(Boolean).join("+");

for (const [end, firstDay, cases] of [
  ["2026-11-30", "2025-06-15", MONDAY_30_NOV],
  ["2026-11-29", "2026-11-03", SUNDAY_29_NOV],
]) {
  for (const [period, interval, count, first, firstCut, last, lastCut] of cases) {
    test(`${period} by ${interval} up to ${end}: partial points at the start and the end`, () => {
      const data = timeseries(period, interval, end, firstDay);
      const cuts = partialCuts(data.series, data, interval).map(cutName);
      assert.equal(data.series.length, count);
      assert.equal(data.series[0].date, first);
      assert.equal(data.series.at(-1).date, last);
      assert.equal(cuts[0], firstCut);
      assert.equal(cuts.at(-1), lastCut);
      assert.deepEqual(cuts.slice(1, -1).filter(Boolean), [], "only the ends can be partial");
    });
  }
}

test("a week or month is partial only when the API says so", () => {
  const range = { start: "2026-05-31", end: "2026-11-30" };
  assert.deepEqual(partialCut({ date: "2026-05-01", partial: false }, range, "month"), { start: false, end: false });
  assert.deepEqual(partialCut({ date: "2026-05-01" }, range, "month"), { start: false, end: false });
  assert.deepEqual(partialCut({ date: "2026-05-01", partial: true }, range, "month"), { start: true, end: false });
  // Cut, but by neither end as far as the dates tell: shown as the running bucket.
  assert.deepEqual(partialCut({ date: "2026-10-01", partial: true }, range, "month"), { start: false, end: true });
});

test("a day is partial only when it is today, the period's last", () => {
  const range = { start: "2026-11-01", end: "2026-11-30" };
  assert.deepEqual(partialCut({ date: "2026-11-30" }, range, "day"), { start: false, end: true });
  assert.deepEqual(partialCut({ date: "2026-11-01", partial: true }, range, "day"), { start: false, end: false });
});

test("a bucket's last day", () => {
  assert.equal(bucketEnd("2026-05-01", "month"), "2026-05-31");
  assert.equal(bucketEnd("2028-02-01", "month"), "2028-02-29");
  assert.equal(bucketEnd("2026-12-01", "month"), "2026-12-31");
  assert.equal(bucketEnd("2026-12-28", "week"), "2027-01-03");
  assert.equal(bucketEnd("2026-03-23", "week"), "2026-03-29"); // across Europe's clock change
  assert.equal(bucketEnd("2026-11-30", "day"), "2026-11-30");
});

// --- What the tooltip and the data table say -------------------------------------------------------

test("the tooltip says which part of a cut bucket is in the period", () => {
  const sixMonths = timeseries("6m", "month", "2026-11-30");
  const [may] = sixMonths.series;
  assert.equal(pointTitle(may, sixMonths, "month"), "May 2026 (from May 31: the period starts there)");
  assert.equal(pointTitle(sixMonths.series[1], sixMonths, "month"), "June 2026");
  assert.equal(pointTitle(sixMonths.series.at(-1), sixMonths, "month"), "November 2026");

  const month = timeseries("30d", "month", "2026-11-29");
  assert.equal(pointTitle(month.series[0], month, "month"), "October 2026 (from Oct 31: the period starts there)");
  assert.equal(pointTitle(month.series[1], month, "month"), "November 2026 (so far)");

  const weeks = timeseries("30d", "week", "2026-11-30");
  assert.equal(pointTitle(weeks.series[0], weeks, "week"), "Week of Oct 26, 2026 (from Nov 1: the period starts there)");
  assert.equal(pointTitle(weeks.series.at(-1), weeks, "week"), "Week of Nov 30, 2026 (so far)");

  const days = timeseries("30d", "day", "2026-11-30");
  assert.equal(pointTitle(days.series[0], days, "day"), "Sun, Nov 1, 2026");
  assert.equal(pointTitle(days.series.at(-1), days, "day"), "Mon, Nov 30, 2026 (so far)");
});

test("the period's first day carries its year when the bucket's title has another", () => {
  const range = { start: "2027-01-01", end: "2027-03-31" };
  const week = { date: "2026-12-28", active_users: 4, partial: true };
  assert.equal(partialNote(week, range, "week"), " (from Jan 1, 2027: the period starts there)");
});

test("a bucket cut at both ends says both", () => {
  const young = timeseries("all", "month", "2026-11-29", "2026-11-03");
  assert.equal(pointTitle(young.series[0], young, "month"), "November 2026 (from Nov 3, so far: the period starts there)");
});

test("the note under the chart explains the dashed parts it has", () => {
  const days = timeseries("6m", "day", "2026-11-30");
  assert.equal(partialFootnote(days.series, days, "day"), "The dashed end is partial: the current day so far, not a drop.");
  const sixMonths = timeseries("6m", "month", "2026-11-30");
  assert.equal(
    partialFootnote(sixMonths.series, sixMonths, "month"),
    "The dashed start is partial: the first month from May 31 only (the period starts there), not a drop.",
  );
  const weeks = timeseries("6m", "week", "2026-11-30");
  assert.equal(
    partialFootnote(weeks.series, weeks, "week"),
    "The dashed start and end are partial: the first week from May 31 only (the period starts there), " +
      "the current week so far; neither is a drop.",
  );
  const whole = timeseries("12m", "month", "2026-11-30");
  assert.equal(partialFootnote(whole.series, whole, "month"), "");
  const young = timeseries("all", "month", "2026-11-29", "2026-11-03");
  assert.equal(
    partialFootnote(young.series, young, "month"),
    "The month shown is partial: from Nov 3 only (the period starts there) and so far, not a drop.",
  );
  assert.equal(partialFootnote([], whole, "month"), "");
});
