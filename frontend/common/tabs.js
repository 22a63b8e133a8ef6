// A tab list with a roving tabindex (WAI-ARIA tabs): one Tab stop for the whole list, the arrow
// keys move between the tabs that are shown and select as they go. Tab `x` is #tab-x and controls
// the panel #panel-x, which TabPanel renders.
import { html } from "./view.js";

/**
 * @typedef {{name: string, label: import("preact").ComponentChildren, hidden?: boolean}} TabSpec
 */

/**
 * @param {{
 *   label: string,
 *   tabs: TabSpec[],
 *   selected: string,
 *   onSelect: (name: string) => void,
 *   extraClass?: string,
 * }} props
 */
export function Tabs(props) {
  const tabs = props.tabs;
  const selected = props.selected;
  const onSelect = props.onSelect;
  const shown = tabs.filter((tab) => !tab.hidden);

  /**
   * @param {KeyboardEvent} event
   * @param {string} name
   */
  function onKeyDown(event, name) {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step || !shown.length) return;
    event.preventDefault();
    const index = shown.findIndex((tab) => tab.name === name);
    const next = shown[(index + step + shown.length) % shown.length].name;
    onSelect(next);
    const list = /** @type {HTMLElement} */ (event.currentTarget).parentElement;
    const button = list && list.querySelector(`#tab-${next}`);
    if (button instanceof HTMLElement) button.focus();
  }

  return html`<nav class=${props.extraClass ? `tabs ${props.extraClass}` : "tabs"} role="tablist"
    aria-label=${props.label}>
    ${tabs.map(
      (tab) => html`<button type="button" role="tab" key=${tab.name} id=${`tab-${tab.name}`}
        aria-controls=${`panel-${tab.name}`} aria-selected=${tab.name === selected ? "true" : "false"}
        class="tab" tabindex=${tab.name === selected ? 0 : -1} hidden=${!!tab.hidden}
        onClick=${() => onSelect(tab.name)}
        onKeyDown=${(/** @type {KeyboardEvent} */ event) => onKeyDown(event, tab.name)}>${tab.label}</button>`,
    )}
  </nav>`;
}

/**
 * @param {{
 *   name: string,
 *   selected: string,
 *   className: string,
 *   children?: import("preact").ComponentChildren,
 * }} props
 */
export function TabPanel(props) {
  const name = props.name;
  return html`<div id=${`panel-${name}`} role="tabpanel" aria-labelledby=${`tab-${name}`} class=${props.className}
    hidden=${name !== props.selected}>${props.children}</div>`;
}
