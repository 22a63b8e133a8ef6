// A modal question ("Roll back?"): the focus starts on Cancel, stays inside the dialog (Tab moves
// between its two buttons), Escape cancels, and on closing it returns to where it was.
import { html, render, useEffect, useRef } from "./view.js";

/**
 * @typedef {{title: string, text: string, confirm: string, danger?: boolean}} Question
 */

/**
 * @param {Question & {answer: (yes: boolean) => void}} props
 */
function ConfirmDialog(props) {
  const answer = props.answer;
  const ok = useRef(/** @type {HTMLButtonElement | null} */ (null));
  const cancel = useRef(/** @type {HTMLButtonElement | null} */ (null));
  useEffect(() => {
    if (cancel.current) cancel.current.focus();
  }, []);

  /** @param {KeyboardEvent} event */
  function onKeyDown(event) {
    if (event.key === "Escape") answer(false);
    if (event.key === "Tab") {
      event.preventDefault();
      const other = document.activeElement === ok.current ? cancel.current : ok.current;
      if (other) other.focus();
    }
  }

  return html`<div class="dialog-backdrop" onKeyDown=${onKeyDown}>
    <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title">
      <h2 class="dialog-title" id="dialog-title">${props.title}</h2>
      <p class="dialog-text">${props.text}</p>
      <div class="row-actions dialog-actions">
        <button type="button" class=${props.danger ? "btn btn-danger dialog-ok" : "btn btn-primary dialog-ok"}
          ref=${ok} onClick=${() => answer(true)}>${props.confirm}</button>
        <button type="button" class="btn btn-ghost dialog-cancel" ref=${cancel}
          onClick=${() => answer(false)}>Cancel</button>
      </div>
    </div>
  </div>`;
}

/**
 * Ask; resolves true when confirmed.
 * @param {Question} question
 * @returns {Promise<boolean>}
 */
export function confirmDialog(question) {
  return new Promise((resolve) => {
    const previous = document.activeElement;
    const host = document.createElement("div");
    document.body.appendChild(host);
    /** @param {boolean} yes */
    const answer = (yes) => {
      render(null, host);
      host.remove();
      if (previous instanceof HTMLElement) previous.focus();
      resolve(yes);
    };
    render(html`<${ConfirmDialog} ...${question} answer=${answer} />`, host);
  });
}
