// Each row's "…" menu and what it does: change the role, deactivate, reactivate, resend or
// cancel an invite. Anything that takes access away asks first.
import { confirmAction } from "../lib/dialogs.js";
import { els, isMe, usersApi, view } from "./context.js";
import { loadCounts, loadList } from "./list.js";
import { closeMenu, menuOpenedBy, onMenuButtonKeydown, onMenuKeydown, showMenu } from "./menus.js";
import { ROLE_LABELS, displayName, personLabel, personUrl, reactivatedText } from "./people.js";
import { removeRow, replaceRow, rowElement } from "./table.js";
import { toast } from "./toasts.js";
import { ROLES } from "./url-state.js";

function rowMenuHtml(user) {
  const item = (action, label, extra = "") =>
    `<li role="none"><button type="button" class="menu-item${extra}" role="menuitem" tabindex="-1" ` +
    `data-action="${action}">${label}</button></li>`;
  // The first item (where the menu opens) is harmless: it only opens the person's page.
  const parts = [
    `<li role="none"><a class="menu-item" role="menuitem" tabindex="-1" href="${personUrl(user.id)}">View details</a></li>`,
    '<li role="separator" class="menu-separator"></li>',
  ];
  if (user.status !== "deactivated") {
    parts.push('<li role="presentation" class="menu-label" id="row-menu-role-label">Change role (asks first)</li>');
    parts.push('<li role="none"><ul role="group" class="menu-group" aria-labelledby="row-menu-role-label">');
    ROLES.forEach((role) => {
      const checked = role === user.role;
      parts.push(
        `<li role="none"><button type="button" class="menu-item menu-radio" role="menuitemradio" tabindex="-1" ` +
          `aria-checked="${checked}" data-action="role" data-role="${role}">${ROLE_LABELS[role]}</button></li>`,
      );
    });
    parts.push("</ul></li>");
    parts.push('<li role="separator" class="menu-separator"></li>');
  }
  if (user.status === "invite_pending") {
    parts.push(item("resend", "Resend invite"));
    parts.push(item("cancel", "Cancel invite…", " menu-danger"));
  } else if (user.status === "deactivated") {
    parts.push(item("reactivate", "Reactivate"));
  } else {
    parts.push(item("deactivate", "Deactivate…", " menu-danger"));
  }
  return parts.join("");
}

function openRowMenu(button, focus = "first") {
  const user = view.usersById.get(Number(button.dataset.id));
  if (!user) return;
  const menu = document.createElement("ul");
  menu.className = "menu menu-right";
  menu.id = "row-menu";
  menu.setAttribute("role", "menu");
  menu.setAttribute("aria-label", `Actions for ${displayName(user)}`);
  menu.dataset.id = String(user.id);
  menu.innerHTML = rowMenuHtml(user);
  menu.addEventListener("keydown", onMenuKeydown);
  menu.addEventListener("click", (event) => {
    const target = event.target.closest("[data-action]");
    if (!target) return;
    const id = Number(menu.dataset.id);
    const { action, role } = target.dataset;
    closeMenu();
    runAction(id, action, role);
  });
  button.parentElement.append(menu);
  button.setAttribute("aria-controls", "row-menu");
  showMenu(button, menu, { dynamic: true, focus });
}

function focusRowButton(id) {
  const button = rowElement(id)?.querySelector(".row-menu-button");
  if (button) button.focus();
}

// What each action asks (null: it does not ask), calls and says once done.
function plan(user, action, role) {
  const id = Number(user.id);
  const who = personLabel(user);
  const name = displayName(user);
  if (action === "role") {
    if (role === user.role) return null;
    const lower = ROLE_LABELS[role].toLowerCase();
    return {
      ask:
        isMe(user) && role !== "admin"
          ? {
              title: `Make yourself ${lower}?`,
              text: "You will no longer be an admin and will lose access to this dashboard.",
              ok: `Make me ${lower}`,
              cancel: "Keep my role",
            }
          : {
              title: `Make ${who} ${lower}?`,
              text: `Their role changes from ${ROLE_LABELS[user.role]} to ${ROLE_LABELS[role]}.`,
              ok: `Make ${lower}`,
              cancel: "Keep role",
              danger: role !== "admin",
            },
      request: () => usersApi(`users/${id}/`, { method: "PATCH", body: { role } }),
      done: (updated) =>
        `${name} is now ${updated.role === "admin" ? "an" : "a"} ${ROLE_LABELS[updated.role].toLowerCase()}.`,
    };
  }
  if (action === "deactivate") {
    return {
      ask: {
        title: `Deactivate ${who}?`,
        text: isMe(user)
          ? "You will be signed out at once and lose access to this organization."
          : "They are signed out at once and their API keys stop working. You can reactivate them later.",
        ok: "Deactivate",
        cancel: "Keep active",
      },
      request: () => usersApi(`users/${id}/deactivate/`, { method: "POST" }),
      done: () => `Deactivated ${name}.`,
    };
  }
  if (action === "reactivate") {
    return {
      request: () => usersApi(`users/${id}/reactivate/`, { method: "POST" }),
      done: (updated) => reactivatedText(name, updated),
    };
  }
  if (action === "resend") {
    return {
      request: () => usersApi(`invites/${id}/resend/`, { method: "POST" }),
      done: () => `Sent a new invite to ${user.email}. The previous link no longer works.`,
    };
  }
  if (action === "cancel") {
    return {
      ask: {
        title: `Cancel the invite for ${user.email}?`,
        text: "The invite link stops working at once. You can invite them again later.",
        ok: "Cancel invite",
        cancel: "Keep invite",
      },
      request: () => usersApi(`invites/${id}/`, { method: "DELETE" }),
      done: () => `Cancelled the invite for ${user.email}.`,
    };
  }
  return null;
}

export async function runAction(id, action, role) {
  const user = view.usersById.get(id);
  if (!user) return;
  const step = plan(user, action, role);
  if (!step) return;
  if (step.ask && !(await confirmAction(step.ask))) {
    focusRowButton(id);
    return;
  }
  const row = rowElement(id);
  if (row) {
    row.classList.add("is-working");
    row.setAttribute("aria-busy", "true");
  }
  try {
    const updated = await step.request();
    if (action === "cancel") {
      toast(step.done());
      if (removeRow(id)) loadList();
    } else {
      replaceRow(updated);
      toast(step.done(updated));
      if (action === "deactivate" && isMe(user)) {
        window.location.reload(); // signed out: the log-in page
        return;
      }
      if (action === "role" && isMe(user) && updated.role !== "admin") {
        window.location.assign("/"); // no longer an admin: this dashboard is not theirs any more
        return;
      }
      focusRowButton(id);
    }
    loadCounts({ background: true });
  } catch (error) {
    const current = rowElement(id);
    if (current) {
      current.classList.remove("is-working");
      current.removeAttribute("aria-busy");
    }
    toast(error.data.detail || error.message, { error: true });
    if (error.status === 404) loadList();
    else focusRowButton(id);
  }
}

export function wireRowActions() {
  els.rows.addEventListener("click", (event) => {
    const note = event.target.closest(".note-action");
    if (note) {
      runAction(Number(note.dataset.id), note.dataset.action);
      return;
    }
    const button = event.target.closest(".row-menu-button");
    if (!button) return;
    if (menuOpenedBy(button)) closeMenu();
    else openRowMenu(button);
  });
  els.rows.addEventListener("keydown", (event) => {
    const button = event.target.closest(".row-menu-button");
    if (button) onMenuButtonKeydown(event, (focus) => openRowMenu(button, focus));
  });
}
