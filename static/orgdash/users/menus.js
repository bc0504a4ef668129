// Menus (the "…" beside "Invite new user" and each row's): one open at a time, arrow keys,
// Home/End, type-ahead, Escape back to the button; a click or focus elsewhere closes it.
import { els } from "./context.js";
import { toast } from "./toasts.js";

let openMenu = null; // { button, menu, dynamic }

export const menuIsOpen = () => openMenu !== null;
export const menuOpenedBy = (button) => openMenu !== null && openMenu.button === button;

const menuItems = (menu) => [...menu.querySelectorAll('[role^="menuitem"]:not([aria-disabled="true"])')];

/** Opens `menu` under `button`; a dynamic menu is removed from the page when it closes. */
export function showMenu(button, menu, { dynamic = false, focus = "first" } = {}) {
  closeMenu({ restoreFocus: false });
  menu.hidden = false;
  button.setAttribute("aria-expanded", "true");
  openMenu = { button, menu, dynamic };
  const items = menuItems(menu);
  items.forEach((item) => item.setAttribute("tabindex", "-1"));
  const target = focus === "last" ? items[items.length - 1] : items[0];
  if (target) target.focus({ preventScroll: true });
  // A menu near the bottom of a small screen would open partly out of sight: bring all of it in.
  menu.scrollIntoView({ block: "nearest" });
}

export function closeMenu({ restoreFocus = true } = {}) {
  if (!openMenu) return;
  const { button, menu, dynamic } = openMenu;
  openMenu = null;
  button.setAttribute("aria-expanded", "false");
  if (dynamic) {
    button.removeAttribute("aria-controls");
    menu.remove();
  } else {
    menu.hidden = true;
  }
  if (restoreFocus && button.isConnected) button.focus();
}

export function onMenuKeydown(event) {
  if (!openMenu) return;
  const items = menuItems(openMenu.menu);
  const index = items.indexOf(document.activeElement);
  let next = null;
  switch (event.key) {
    case "ArrowDown":
      next = items[(index + 1) % items.length];
      break;
    case "ArrowUp":
      next = items[(index - 1 + items.length) % items.length];
      break;
    case "Home":
      next = items[0];
      break;
    case "End":
      next = items[items.length - 1];
      break;
    case "Escape":
      event.preventDefault();
      event.stopPropagation();
      closeMenu();
      return;
    case "Tab":
      closeMenu({ restoreFocus: false });
      return;
    default:
      if (event.key.length === 1 && /\S/.test(event.key)) {
        const letter = event.key.toLowerCase();
        const ordered = [...items.slice(index + 1), ...items.slice(0, index + 1)];
        next = ordered.find((item) => item.textContent.trim().toLowerCase().startsWith(letter)) || null;
      }
      if (!next) return;
  }
  event.preventDefault();
  if (next) next.focus();
}

/** ArrowDown/ArrowUp on a menu button opens its menu at the first/last item. */
export function onMenuButtonKeydown(event, open) {
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    open(event.key === "ArrowUp" ? "last" : "first");
  }
}

export function wireMenus() {
  document.addEventListener("click", (event) => {
    if (openMenu && !openMenu.menu.contains(event.target) && !openMenu.button.contains(event.target)) {
      closeMenu({ restoreFocus: false });
    }
  });
  document.addEventListener("focusin", (event) => {
    if (openMenu && !openMenu.menu.contains(event.target) && event.target !== openMenu.button) {
      closeMenu({ restoreFocus: false });
    }
  });

  // The "…" menu beside "Invite new user".
  if (els.moreButton && els.moreMenu) {
    const openMore = (focus) => showMenu(els.moreButton, els.moreMenu, { focus });
    els.moreButton.addEventListener("click", () => {
      if (openMenu && openMenu.menu === els.moreMenu) closeMenu();
      else openMore("first");
    });
    els.moreButton.addEventListener("keydown", (event) => onMenuButtonKeydown(event, openMore));
    els.moreMenu.addEventListener("keydown", onMenuKeydown);
    els.exportLink.addEventListener("click", () => {
      // A real link: the browser downloads the file the server names (Content-Disposition).
      window.setTimeout(() => closeMenu(), 0);
      toast("Your CSV export is downloading.");
    });
  }
}
