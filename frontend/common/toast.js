// The short notice in the corner of the console and the editor (role="status"): what just
// happened, or why it did not. One at a time; it hides itself after a few seconds but keeps its
// text. It is a slice of the page's one state object, so a reducer test can see it.
import { html } from "./view.js";

/** @typedef {{text: string, kind: string, shown: boolean}} ToastState */
/** @typedef {{type: "toast", text: string, kind?: string} | {type: "toast-hidden"}} ToastAction */

/** @type {ToastState} */
export const NO_TOAST = { text: "", kind: "", shown: false };

/**
 * @param {ToastState} toast
 * @param {ToastAction} action
 * @returns {ToastState}
 */
export function toastReducer(toast, action) {
  if (action.type === "toast") return { text: action.text, kind: action.kind || "", shown: true };
  return toast.shown ? { ...toast, shown: false } : toast;
}

/**
 * A function that shows a toast through the page's store and hides it `ms` later; a newer toast
 * replaces the one showing and gets the full time.
 * @param {(action: ToastAction) => void} dispatch
 * @param {number} ms
 * @returns {(text: string, kind?: string) => void}
 */
export function createToaster(dispatch, ms) {
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  return (text, kind) => {
    dispatch({ type: "toast", text, kind });
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      dispatch({ type: "toast-hidden" });
    }, ms);
  };
}

/** @param {{toast: ToastState}} props */
export function Toast(props) {
  const toast = props.toast;
  return html`<div id="toast" class=${toast.kind ? `toast toast-${toast.kind}` : "toast"} role="status"
    hidden=${!toast.shown}>${toast.text}</div>`;
}
