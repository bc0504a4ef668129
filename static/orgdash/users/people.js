// How a person reads in the Users list: names, initials, avatar colour, the tooltip of the
// status cell and the note under a pending invite. Pure functions, no page state.
import { formatDate, formatExact, formatRelative, plural } from "../lib/format.js";

export const ROLE_LABELS = { admin: "Admin", member: "Member", viewer: "Viewer" };
const AVATAR_COLOURS = 8;
const ERROR_TIP_LENGTH = 300; // a long SMTP error is cut in the tooltip
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe to place inside HTML, attributes included. */
export const esc = (value) => String(value ?? "").replace(/[&<>"']/g, (ch) => ESCAPES[ch]);

export const displayName = (user) => user.name || user.username || user.email;
export const personLabel = (user) => (user.name ? `${user.name} (${user.email})` : user.email);
export const sameEmail = (user, email) => Boolean(email) && (user.email || "").toLowerCase() === email.toLowerCase();
export const personUrl = (id) => `/org/dashboard/users/${Number(id)}/`;

export function initialsOf(user) {
  const name = (user.name || "").trim();
  const source = name || user.username || (user.email || "").split("@")[0] || "?";
  // Words that start with a letter: "Jane van Doe" gives "JD"; handles and addresses give one
  // letter ("jane.43eb2" gives "J").
  const words = source.split(/[\s._+-]+/).filter((word) => /^\p{L}/u.test(word));
  if (!words.length) return [...source][0].toUpperCase();
  const first = [...words[0]][0];
  const last = name && words.length > 1 ? [...words[words.length - 1]][0] : "";
  return (first + last).toUpperCase();
}

/** The same person always gets the same of the 8 avatar colours. */
export function colourOf(text) {
  let hash = 0;
  for (let i = 0; i < text.length; i += 1) hash = (hash * 31 + text.charCodeAt(i)) >>> 0;
  return hash % AVATAR_COLOURS;
}

// A pending invite's tooltip: who invited them, when the link dies, and why the e-mail failed.
function inviteTooltipLines(user) {
  const invited = `Invited ${formatDate(user.added)}`;
  const lines = [user.invited_by ? `${invited} by ${user.invited_by}` : invited];
  const invite = user.invite;
  if (invite) {
    lines.push(`${invite.expired ? "Link expired" : "Link expires"} ${formatDate(invite.expires_at)}`);
    if (invite.delivery === "failed" && invite.last_error) {
      const error = invite.last_error;
      const text = `E-mail error: ${error.length > ERROR_TIP_LENGTH ? `${error.slice(0, ERROR_TIP_LENGTH)}…` : error}`;
      lines.push({ text, wrap: true });
    }
  }
  lines.push("Never active"); // pending invites have no activity
  return lines;
}

/** The status cell's tooltip, one entry a line: a string, or {text, wrap} for long text. */
export function tooltipLines(user, now = Date.now()) {
  if (user.status === "invite_pending") return inviteTooltipLines(user);
  const lines = [`Added ${formatDate(user.added)}`, plural(user.days_active || 0, "day active", "days active")];
  if (user.last_active) {
    lines.push(`Last active ${formatRelative(user.last_active, now)} (${formatExact(user.last_active)})`);
  } else {
    lines.push("Never active");
  }
  if (user.status === "deactivated" && user.deactivated_at) {
    lines.push(`Deactivated ${formatDate(user.deactivated_at)}`);
  }
  return lines;
}

/** The small line under a pending invite's badge: none once the e-mail went out and the link is live. */
export function inviteNote(user) {
  const invite = user.status === "invite_pending" ? user.invite : null;
  if (!invite) return null;
  if (invite.expired) return { kind: "expired", text: "Expired — resend" };
  if (invite.delivery !== "failed") return null;
  if (invite.retrying) return { kind: "failed", text: "E-mail not delivered — retrying" };
  return { kind: "failed", text: `E-mail failed (${plural(invite.send_attempts, "attempt", "attempts")})` };
}

/** "Active · 3 days ago", "- · 8 months ago": the part after the status badge. */
export function lastActiveWhen(user, now = Date.now()) {
  if (user.status === "invite_pending") return "";
  return user.last_active ? formatRelative(user.last_active, now) : "never";
}

/** What a reactivation did: someone who never joined gets a new invite instead of access. */
export function reactivatedText(name, updated) {
  if (updated.status === "active") return `Reactivated ${name}; they are Active again.`;
  if (updated.status === "invite_pending") return `Reactivated ${name}; a new invite is on its way to ${updated.email}.`;
  return `Reactivated ${name}. Their status shows “${updated.status_label}”: no activity in the last six months.`;
}
