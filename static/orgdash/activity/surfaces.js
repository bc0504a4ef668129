// The over-time chart's "By surface" view: one line per surface, each its own count of unique
// users. Someone active on several surfaces is on each of their lines, so the lines never add up to
// the users active, and nothing is stacked or shaded as if they did. Pure values and wording only.

export const SURFACES = Object.freeze([
  { key: "web", label: "Web pages and log-ins", color: "#2b59c3" },
  { key: "api", label: "API", color: "#c77c00" },
  { key: "sdk", label: "SDK", color: "#1f8a5b" },
  { key: "runs", label: "Runs", color: "#8e44ad" },
]);

const WORDS = { day: "day", week: "week", month: "month" };

/** The surface view's lines: drawn side by side on one scale, never stacked, never filled. */
export function surfaceLineStyle() {
  return { type: "line", fill: false, stacked: false };
}

/** What the surface view says about itself, for the subtitle, legend, table and chart label. */
export function surfaceWording(interval) {
  const word = WORDS[interval] || "day";
  return {
    subtitle: `Users active on each surface in each ${word}: one line per surface, not a total`,
    legendNote: "A person active on several surfaces counts in each, so the lines don't add up to the users active "
      + "(the All view counts each person once).",
    tooltipNote: "A person active on several surfaces counts in each.",
    tableNote: `Each column counts the users active on that surface in the ${word}. `
      + "A person active on several surfaces counts in each column, so a row doesn't add up to the users active; "
      + "the All view counts each person once.",
    chartLabel: `Line chart of the users active on each surface in each ${word}, one line per surface, not stacked: `
      + "a person active on several surfaces counts on each line. The data is in the table below the chart.",
  };
}

/** What the All view says: each person once per day, week or month. */
export function totalWording(interval) {
  const word = WORDS[interval] || "day";
  return {
    subtitle: `How many users were active in each ${word}`,
    chartLabel: `Line chart of the number of users active in each ${word}. The data is in the table below the chart.`,
  };
}

/** A tooltip line's words after the number: "users on API", or "active users" in the All view. */
export function valueWords(count, label) {
  const users = count === 1 ? "user" : "users";
  return label ? ` ${users} on ${label}` : ` active ${users}`;
}
