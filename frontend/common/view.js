// The view layer: Preact with htm's tagged templates (no JSX, so no compile step beyond the
// bundle). Preact diffs keyed lists in place, so an element with focus survives a re-render.
// Text is always rendered as text: htm never parses strings from the network as markup.
import { h, render } from "preact";
import htm from "htm";

export { render };
export { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
export const html = htm.bind(h);

/**
 * Renders `view(state)` into `container` now and after every change of the store.
 * @template S
 * @param {Element} container
 * @param {{get: () => S, subscribe: (listener: (state: S) => void) => () => void}} store
 * @param {(state: S) => import("preact").ComponentChild} view
 * @returns {() => void} stops following the store
 */
export function mount(container, store, view) {
  const draw = () => render(view(store.get()), container);
  draw();
  return store.subscribe(draw);
}
