import assert from "node:assert/strict";
import { test } from "node:test";

import { inviteErrors, parseEmails } from "../../static/orgdash/users/invite-input.js";
import {
  colourOf,
  esc,
  initialsOf,
  inviteNote,
  lastActiveWhen,
  reactivatedText,
  tooltipLines,
} from "../../static/orgdash/users/people.js";

const NOW = Date.parse("2026-11-29T12:00:00Z");

test("initials come from the name, else the handle or the address", () => {
  assert.equal(initialsOf({ name: "Jane van Doe" }), "JD");
  assert.equal(initialsOf({ name: "", username: "jane.43eb2" }), "J");
  assert.equal(initialsOf({ email: "émile.zola@example.com" }), "É");
  assert.equal(initialsOf({ email: "42@example.com" }), "4");
});

test("a person keeps one of the 8 avatar colours", () => {
  const colour = colourOf("ann@example.com");
  assert.equal(colourOf("ann@example.com"), colour);
  assert.ok(colour >= 0 && colour < 8);
});

test("text placed in the list cannot become markup", () => {
  assert.equal(esc(`<img src=x onerror="a('b')">&`), "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;");
  assert.equal(esc(null), "");
});

test("a member's tooltip says when they joined, how often and when they were last active", () => {
  const user = { status: "active", added: "2025-03-14T10:00:00Z", days_active: 42, last_active: "2026-11-26T12:00:00Z" };
  assert.deepEqual(tooltipLines(user, NOW), [
    "Added Mar 14, 2025",
    "42 days active",
    "Last active 3 days ago (2026-11-26 12:00 UTC)",
  ]);
  assert.equal(lastActiveWhen(user, NOW), "3 days ago");
  assert.equal(lastActiveWhen({ status: "inactive", last_active: null }, NOW), "never");
});

test("a pending invite's note and tooltip follow its delivery", () => {
  const invite = { expires_at: "2026-12-06T00:00:00Z", expired: false, delivery: "sent", send_attempts: 1, retrying: false };
  const user = { status: "invite_pending", added: "2026-11-29T00:00:00Z", invited_by: "admin@acme.test", invite };
  assert.equal(inviteNote(user), null);
  assert.deepEqual(inviteNote({ ...user, invite: { ...invite, expired: true } }), { kind: "expired", text: "Expired — resend" });
  const failed = { ...invite, delivery: "failed", send_attempts: 3, last_error: "x".repeat(400) };
  assert.deepEqual(inviteNote({ ...user, invite: failed }), { kind: "failed", text: "E-mail failed (3 attempts)" });
  assert.equal(inviteNote({ ...user, invite: { ...failed, retrying: true } }).text, "E-mail not delivered — retrying");
  const lines = tooltipLines({ ...user, invite: failed }, NOW);
  assert.equal(lines[0], "Invited Nov 29, 2026 by admin@acme.test");
  assert.equal(lines[1], "Link expires Dec 6, 2026");
  assert.equal(lines[2].wrap, true);
  assert.equal(lines[2].text.length, "E-mail error: ".length + 300 + 1);
  assert.equal(lines[3], "Never active");
});

test("typed addresses are split, unwrapped and given once", () => {
  assert.deepEqual(parseEmails(" a@x.org, <b@x.org>;\nA@X.org  c@x.org "), ["a@x.org", "b@x.org", "c@x.org"]);
  assert.deepEqual(parseEmails(" ,; "), []);
});

test("a 400 marks the addresses it names and shows its message once", () => {
  const sent = ["good@x.org", "bad@", "worse"];
  const data = { detail: "Invalid input.", errors: { emails: ["'bad@' is not a valid e-mail address; 'worse' is not a valid e-mail address."] } };
  const { detail, items } = inviteErrors(data, sent);
  assert.equal(detail, data.errors.emails[0]);
  assert.deepEqual(items.map((item) => item.email), ["bad@", "worse"]);
  const indexed = inviteErrors({ detail: "Invalid input.", errors: { emails: { 1: ["Enter a valid email address."] } } }, sent);
  assert.deepEqual(indexed, { detail: "", items: [{ email: "bad@", message: "Enter a valid email address." }] });
});

test("a reactivation says what it did: access back, or a new invite for someone who never joined", () => {
  assert.equal(reactivatedText("Ann", { status: "active" }), "Reactivated Ann; they are Active again.");
  assert.equal(
    reactivatedText("bo@x.test", { status: "invite_pending", email: "bo@x.test" }),
    "Reactivated bo@x.test; a new invite is on its way to bo@x.test.",
  );
  assert.match(reactivatedText("Cy", { status: "inactive", status_label: "-" }), /“-”: no activity in the last six months/);
});
