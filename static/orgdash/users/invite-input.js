// What the invite dialog reads: the typed addresses, and a 400 answer's errors. Pure functions.

/** Addresses separated by commas, semicolons, spaces or new lines; "<a@b>" unwrapped; duplicates once. */
export function parseEmails(text) {
  const seen = new Set();
  const emails = [];
  text.split(/[\s,;]+/).forEach((raw) => {
    const email = raw.trim().replace(/^<|>$/g, "");
    if (email && !seen.has(email.toLowerCase())) {
      seen.add(email.toLowerCase());
      emails.push(email);
    }
  });
  return emails;
}

// Reads a 400 answer: the API names the invalid addresses in its message ({"errors": {"emails":
// ["'x' is not a valid e-mail address; ..."]}); each named address is marked inline, the message
// itself is shown once above. Index-keyed errors ({"emails": {"2": [...]}}) are read as well.
export function inviteErrors(data, sent) {
  const items = [];
  const messages = [];
  const addMessage = (text) => {
    if (text && !messages.includes(text)) messages.push(text);
  };
  Object.values(data.errors || {}).forEach((value) => {
    if (value && !Array.isArray(value) && typeof value === "object") {
      Object.entries(value).forEach(([key, list]) => {
        const email = /^\d+$/.test(key) ? sent[Number(key)] : key;
        [].concat(list).forEach((message) => items.push({ email: email || "", message: String(message) }));
      });
      return;
    }
    [].concat(value || []).forEach((message) => {
      const text = String(message);
      const lower = text.toLowerCase();
      let named = sent.filter((email) => {
        const e = email.toLowerCase();
        return lower.includes(`'${e}'`) || lower.includes(`"${e}"`);
      });
      if (!named.length) named = sent.filter((email) => lower.includes(email.toLowerCase()));
      named.forEach((email) => items.push({ email, message: "check this address" }));
      addMessage(text);
    });
  });
  const detail = messages.length ? messages.join(" ") : items.length ? "" : data.detail;
  return { detail, items };
}
