// New chats alert the agent without a reload: the tab title counts the waiting chats
// ("(2 waiting) Harbor Assist — Agent console"), a toast names the new chat's reason, a short tone
// plays while the agent is online, and a desktop notification appears when the console is in a
// background tab and notifications are allowed.
//
// A chat past its response-time target alerts the agents who see it the same way (a toast, the
// tone while online, a desktop notification in the background) when the server's `breach` frame
// comes: the service sends it once per breach, whichever replica's sweeper notices first.

/**
 * @typedef {import("./state.js").QueueItem} QueueItem
 */

/**
 * @param {number} waiting
 * @param {string} base the page's own title
 */
export function waitingTitle(waiting, base) {
  return waiting ? `(${waiting} waiting) ${base}` : base;
}

/**
 * What a new chat is about, for the toast and the notification.
 * @param {QueueItem} item
 */
export function arrivalReason(item) {
  return item.reason_text || item.reason || "a customer";
}

/**
 * @param {QueueItem[]} fresh
 */
export function arrivalText(fresh) {
  return fresh.length === 1 ? `New chat waiting: ${arrivalReason(fresh[0])}` : `${fresh.length} new chats waiting`;
}

/**
 * What a `breach` frame says: whose chat, which reply is overdue, and the target it passed.
 * @param {Record<string, any>} f
 */
export function breachText(f) {
  const who = String(f.title || "A chat");
  const what = f.kind === "first" ? "a first response" : "a reply";
  const target = Number(f.target_seconds) || 0;
  const limit = target >= 60 ? `${Math.round(target / 60)} min` : `${Math.round(target)} s`;
  return `Overdue: ${who} has waited for ${what} longer than the ${limit} target.`;
}

/** @type {AudioContext | null} */
let audio = null;

/**
 * A short 880 Hz tone. Returns false where the browser has no audio (the title and the toast
 * still tell).
 */
export function chime() {
  try {
    const Context = window.AudioContext || /** @type {any} */ (window).webkitAudioContext;
    audio = audio || new Context();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
    return true;
  } catch {
    return false;
  }
}

/**
 * A desktop notification, only when the console is not the tab on screen.
 * @param {string} body
 * @param {string} [title]
 */
export function notifyInBackground(body, title = "New chat waiting") {
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    new Notification(title, { body, tag: title === "New chat waiting" ? "harbor-queue" : "harbor-overdue" });
  } catch {
    // unsupported here (some mobile browsers)
  }
}

/** Going online asks once for the permission to notify. */
export function askToNotify() {
  if (!("Notification" in window) || Notification.permission !== "default") return;
  try {
    void Notification.requestPermission();
  } catch {
    // older browsers
  }
}
