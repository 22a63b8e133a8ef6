// Reading what the user typed, for the pages' event handlers (typed for the checker).

/**
 * The value of the input, textarea or select an event came from.
 * @param {Event} event
 * @returns {string}
 */
export function valueOf(event) {
  return /** @type {HTMLInputElement} */ (event.currentTarget).value;
}

/**
 * The value of a named field of a form.
 * @param {HTMLFormElement} form
 * @param {string} name
 * @returns {string}
 */
export function fieldOf(form, name) {
  const field = /** @type {HTMLInputElement | null} */ (form.elements.namedItem(name));
  return field ? field.value : "";
}

/**
 * Give the keyboard focus to the element with this id, if it is on the page. The pages render
 * synchronously on every change of their store, so right after a dispatch the element is there.
 * @param {string} id
 */
export function focusOn(id) {
  const node = document.getElementById(id);
  if (node) node.focus();
}
