// The over-time chart's partial points: a bucket the period cuts holds fewer days than its
// neighbours, so it must not read as a drop. Pure functions only.
import { formatBucket, parseDay } from "../lib/format.js";

const WORDS = { day: "day", week: "week", month: "month" };
const shortDayFormat = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric" });
const dayFormat = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric" });
const NOT_CUT = Object.freeze({ start: false, end: false });

// Calendar arithmetic in UTC, so no daylight-saving change shifts a day.
function toUtc(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day));
}

const isoOf = (date) => date.toISOString().slice(0, 10);

/** A bucket's start -> its last day: ("2026-05-01", "month") -> "2026-05-31"; a day is its own. */
export function bucketEnd(iso, interval) {
  const date = toUtc(iso);
  if (interval === "week") date.setUTCDate(date.getUTCDate() + 6);
  else if (interval === "month") date.setUTCMonth(date.getUTCMonth() + 1, 0);
  return isoOf(date);
}

/**
 * How the period cuts a point of the over-time chart ({start, end} in `range`): `start` when the
 * period begins inside its bucket, `end` when the bucket (today, for days) is not over yet.
 */
export function partialCut(point, range, interval) {
  if (interval === "day") return point.date === range.end ? { start: false, end: true } : NOT_CUT;
  // The API decides which week or month is partial; its dates say which side cuts it.
  if (!point.partial) return NOT_CUT;
  const start = point.date < range.start;
  const end = bucketEnd(point.date, interval) > range.end;
  // A bucket called partial that neither side seems to cut is shown as the running one, as before.
  return start || end ? { start, end } : { start: false, end: true };
}

/** Every point's cut, in order. */
export const partialCuts = (points, range, interval) => points.map((point) => partialCut(point, range, interval));

// The period's first day, without the year when the bucket's title already gives it.
function firstDay(range, bucket) {
  const start = parseDay(range.start);
  return start.getFullYear() === parseDay(bucket).getFullYear()
    ? shortDayFormat.format(start)
    : dayFormat.format(start);
}

/** What follows a point's date when it is partial: " (so far)", " (from May 31: the period starts there)". */
export function partialNote(point, range, interval) {
  const cut = partialCut(point, range, interval);
  if (cut.start && cut.end) return ` (from ${firstDay(range, point.date)}, so far: the period starts there)`;
  if (cut.start) return ` (from ${firstDay(range, point.date)}: the period starts there)`;
  if (cut.end) return " (so far)";
  return "";
}

/** The tooltip's and the data table's heading of a point: "May 2026 (from May 31: the period starts there)". */
export const pointTitle = (point, range, interval) => formatBucket(point.date, interval) + partialNote(point, range, interval);

/** The line under the chart that explains its dashed parts; "" when nothing is partial. */
export function partialFootnote(points, range, interval) {
  if (!points.length) return "";
  const unit = WORDS[interval];
  const first = partialCut(points[0], range, interval);
  const last = partialCut(points[points.length - 1], range, interval);
  const from = `from ${firstDay(range, points[0].date)} only (the period starts there)`;
  if (points.length === 1 && first.start && first.end) {
    return `The ${unit} shown is partial: ${from} and so far, not a drop.`;
  }
  if (first.start && last.end) {
    return `The dashed start and end are partial: the first ${unit} ${from}, the current ${unit} so far; neither is a drop.`;
  }
  if (first.start) return `The dashed start is partial: the first ${unit} ${from}, not a drop.`;
  if (last.end) return `The dashed end is partial: the current ${unit} so far, not a drop.`;
  return "";
}
