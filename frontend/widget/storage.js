// What lets a chat survive a reload: the resume token, the conversation id, the last entry shown
// and a cache of the last entries, kept in the tab's sessionStorage under
// "harbor-assist:<service host>". A reload (or the shop's next page in the same tab) redraws the
// chat at once and asks the service only for what came after `last_seen`; closing the tab
// forgets it. It used to sit in localStorage for days, on disk and open to every script of
// every later visit; a third-party script on the page can still read it while the tab is open,
// which only a frame on our own origin would prevent (docs/widget.md, "Reloads and network
// drops"). Whatever is stored is read defensively: another version of the widget, the shop's
// own scripts or a full disk may have left anything there.

/** How many entries the cache keeps (the oldest go first). */
export const MAX_CACHED = 300;

/**
 * @typedef {Record<string, any>} Frame  a server frame as parsed from the socket
 * @typedef {{
 *   token: string | null,
 *   conversation: string | null,
 *   lastSeen: string | null,
 *   open: boolean,
 *   entries: Frame[],
 * }} Saved
 * @typedef {Pick<Storage, "getItem" | "setItem" | "removeItem">} StorageArea
 */

/**
 * @param {string} serviceHost the host the widget script came from
 * @returns {string}
 */
export function storageKey(serviceHost) {
  return `harbor-assist:${serviceHost}`;
}

/** @returns {Saved} */
export function emptySaved() {
  return { token: null, conversation: null, lastSeen: null, open: false, entries: [] };
}

/**
 * A string field, or null for anything else.
 * @param {unknown} value
 * @returns {string | null}
 */
function text(value) {
  return typeof value === "string" && value ? value : null;
}

/**
 * The saved chat for this tab; an empty one when there is none or it cannot be read. Also
 * deletes what an earlier version of the widget left in localStorage.
 * @param {() => (StorageArea | null | undefined)} session the tab's sessionStorage (its getter
 *   throws where storage is disabled)
 * @param {string} key
 * @param {() => (StorageArea | null | undefined)} [legacy] localStorage
 * @returns {Saved}
 */
export function readSaved(session, key, legacy) {
  try {
    legacy?.()?.removeItem(key);
  } catch {
    // storage disabled
  }
  /** @type {any} */
  let value;
  try {
    value = JSON.parse(session()?.getItem(key) || "{}");
  } catch {
    return emptySaved();
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return emptySaved();
  const entries = Array.isArray(value.entries)
    ? value.entries.filter(
        /** @param {unknown} frame */
        (frame) =>
          !!frame &&
          typeof frame === "object" &&
          !Array.isArray(frame) &&
          typeof (/** @type {Frame} */ (frame).id) === "string",
      )
    : [];
  return {
    token: text(value.token),
    conversation: text(value.conversation),
    lastSeen: text(value.last_seen),
    open: value.open === true,
    entries: entries.slice(-MAX_CACHED),
  };
}

/**
 * Keep the chat for this tab (silently not, in private modes that refuse storage).
 * @param {() => (StorageArea | null | undefined)} session
 * @param {string} key
 * @param {Saved} saved
 */
export function writeSaved(session, key, saved) {
  const stored = {
    token: saved.token || undefined,
    conversation: saved.conversation || undefined,
    last_seen: saved.lastSeen || undefined,
    open: saved.open,
    entries: saved.entries,
  };
  try {
    session()?.setItem(key, JSON.stringify(stored));
  } catch {
    // private mode or full
  }
}
