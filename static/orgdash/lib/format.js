// How every page writes numbers, dates and times: US English, dates of the API in UTC.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const numberFormat = new Intl.NumberFormat("en-US");
const percentFormat = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 1 });
const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const dayFormat = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric" });
const shortDayFormat = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric" });
const monthFormat = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "long" });
const weekdayFormat = new Intl.DateTimeFormat("en-US", { weekday: "short" });
const timeFormat = new Intl.DateTimeFormat("en-US", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
  timeZone: "UTC",
});
const pad = (n) => String(n).padStart(2, "0");

/** 12345 -> "12,345" */
export const formatNumber = (n) => numberFormat.format(n);

/** 0.1234 -> "12.3%" */
export const formatPercent = (ratio) => percentFormat.format(ratio);

/** (3, "day", "days") -> "3 days" */
export const plural = (n, one, many) => `${formatNumber(n)} ${n === 1 ? one : many}`;

/** An API time or date -> "Mar 14, 2025" (the UTC date). */
export function formatDate(iso) {
  const d = new Date(iso);
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
}

/** An API time -> "2025-03-14 09:05 UTC" */
export function formatExact(iso) {
  const d = new Date(iso);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`
  );
}

/** An API time -> "Mar 14, 2025, 09:05" (UTC; the caller says so). */
export const formatDateTime = (value) => timeFormat.format(new Date(value));

/** "2026-11-20T13:04:00.123Z" -> "2026-11-20 13:04:00": the recorded time, to the second. */
export const formatTimestamp = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", "") : "");

/** An API time (or a Date) -> "just now", "5 minutes ago", "3 days ago", "in 2 months", "last year". */
export function formatRelative(value, now = Date.now()) {
  const seconds = (new Date(value).getTime() - now) / 1000;
  const abs = Math.abs(seconds);
  if (abs < 60) return "just now";
  const units = [
    ["minute", 60, 3600],
    ["hour", 3600, 86400],
    ["day", 86400, 86400 * 30],
    ["month", 86400 * 30.4375, 86400 * 365.25],
    ["year", 86400 * 365.25, Infinity],
  ];
  const [unit, size] = units.find(([, , limit]) => abs < limit);
  return relativeFormat.format(Math.round(seconds / size), unit);
}

// Calendar days of the activity figures ("2026-03-14") are dates, not instants: read them as
// local dates so they print as themselves in every time zone.

/** "2026-03-14" -> a local Date at midnight. */
export function parseDay(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  return new Date(year, month - 1, day);
}

/** "2026-03-14" -> "Mar 14, 2026" */
export const formatDay = (iso) => dayFormat.format(parseDay(iso));

/** ("2026-01-05", "2026-03-14") -> "Jan 5 – Mar 14, 2026"; the first year is written when it differs. */
export function formatDayRange(start, end) {
  const a = parseDay(start);
  const b = parseDay(end);
  const left = a.getFullYear() === b.getFullYear() ? shortDayFormat.format(a) : dayFormat.format(a);
  return `${left} – ${dayFormat.format(b)}`;
}

/** A chart bucket: "March 2026", "Week of Mar 9, 2026" or "Sat, Mar 14, 2026". */
export function formatBucket(iso, interval) {
  if (interval === "month") return monthFormat.format(parseDay(iso));
  if (interval === "week") return `Week of ${formatDay(iso)}`;
  return `${weekdayFormat.format(parseDay(iso))}, ${formatDay(iso)}`;
}
