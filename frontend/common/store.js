// One state object per view. The state is changed only by a pure reducer, so what a frame or a
// click does to it is testable in Node without a browser; views re-render from it.

/**
 * @template S, A
 * @typedef {(state: S, action: A) => S} Reducer
 */

/**
 * @template S, A
 * @typedef {{
 *   get: () => S,
 *   dispatch: (action: A) => void,
 *   subscribe: (listener: (state: S) => void) => () => void,
 * }} Store
 */

/**
 * @template S, A
 * @param {Reducer<S, A>} reducer
 * @param {S} initial
 * @returns {Store<S, A>}
 */
export function createStore(reducer, initial) {
  let state = initial;
  /** @type {Set<(state: S) => void>} */
  const listeners = new Set();
  return {
    get: () => state,
    dispatch(action) {
      const next = reducer(state, action);
      if (next === state) return;
      state = next;
      for (const listener of [...listeners]) listener(state);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
