// The Activity tab's choices and its query string (?summary=&period=&interval=&view=&top=): every
// choice lives in the URL so a view can be shared, reloaded and gone back to. Pure functions only.

export const PERIODS = ["30d", "3m", "6m", "12m", "all"];
export const INTERVALS = ["day", "week", "month"];
export const VIEWS = ["total", "surface"];

export const DEFAULTS = Object.freeze({ summary: "3m", period: "6m", interval: "day", view: "total", top: "30d" });
const ALLOWED = { summary: PERIODS, period: PERIODS, interval: INTERVALS, view: VIEWS, top: PERIODS };
export const NAMES = Object.keys(DEFAULTS);

/** A query string -> {summary, period, interval, view, top}; anything unknown falls back to the default. */
export function parseChoices(search) {
  const query = new URLSearchParams(search);
  const choices = {};
  for (const name of NAMES) {
    const value = query.get(name);
    choices[name] = ALLOWED[name].includes(value) ? value : DEFAULTS[name];
  }
  return choices;
}

/** The page's own query string: defaults are left out, so the plain tab has a plain URL. */
export function choicesQuery(choices) {
  const query = new URLSearchParams();
  for (const name of NAMES) {
    if (choices[name] !== DEFAULTS[name]) query.set(name, choices[name]);
  }
  return query.toString();
}

/** The names whose value differs between two sets of choices (what a Back or Forward changed). */
export const changedChoices = (before, after) => NAMES.filter((name) => before[name] !== after[name]);
