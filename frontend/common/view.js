// The view layer: Preact with htm's tagged templates (no JSX, so no compile step beyond the
// bundle). Preact diffs keyed lists in place, so an element with focus survives a re-render.
// Text is always rendered as text: htm never parses strings from the network as markup.
import { Component, h, render } from "preact";
import htm from "htm";

export { render };
export { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
export const html = htm.bind(h);

/**
 * Renders `view(state)` into `container` now and after every change of the store.
 * @template S
 * @param {import("preact").ContainerNode} container (an element, or the widget's shadow root)
 * @param {{get: () => S, subscribe: (listener: (state: S) => void) => () => void}} store
 * @param {(state: S) => import("preact").ComponentChild} view
 * @returns {() => void} stops following the store
 */
export function mount(container, store, view) {
  const draw = () => render(view(store.get()), container);
  draw();
  return store.subscribe(draw);
}

/**
 * A component drawn again only when one of its props is another object than last time. State is
 * never changed in place (reducers replace what changes), so an unchanged transcript entry is
 * skipped without comparing its contents: a frame or a keystroke in a long chat does not
 * re-format every entry's clock time.
 * @template P
 * @extends {Component<P>}
 * @abstract
 */
export class Unchanging extends Component {
  /** @param {P} next */
  shouldComponentUpdate(next) {
    const now = /** @type {Record<string, unknown>} */ (this.props);
    const after = /** @type {Record<string, unknown>} */ (next);
    const names = new Set([...Object.keys(now), ...Object.keys(after)]);
    for (const name of names) if (now[name] !== after[name]) return true;
    return false;
  }

  /**
   * @param {import("preact").RenderableProps<P>} [_props]
   * @returns {import("preact").ComponentChildren}
   */
  render(_props) {
    throw new Error("a subclass draws itself");
  }
}
