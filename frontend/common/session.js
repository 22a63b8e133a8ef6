// Who is signed in, for the console and the editor: the sign-in form, "who am I" when the page
// loads, signing out, and noticing that the session ended elsewhere (a 401 from any request).
// The session cookie is HttpOnly; what the page keeps is the profile the server returned,
// including the CSRF token every changing request sends.
import { ApiError, createApi } from "./api.js";
import { html, useEffect, useRef, useState } from "./view.js";

/**
 * @typedef {{
 *   user: string,
 *   role: string,
 *   display_name?: string,
 *   teams?: string[],
 *   capacity?: number,
 *   csrf: string,
 * }} Profile
 */

/** @type {Record<string, string>} */
export const ROLE_NAMES = { agent: "Agent", editor: "FAQ editor", admin: "Admin" };

/**
 * Agents and admins work chats.
 * @param {string} role
 */
export function mayChat(role) {
  return role === "agent" || role === "admin";
}

/**
 * Editors and admins edit the FAQ.
 * @param {string} role
 */
export function mayEdit(role) {
  return role === "editor" || role === "admin";
}

/**
 * @param {Profile} profile
 * @returns {string}
 */
export function nameOf(profile) {
  return profile.display_name || profile.user;
}

const LOGIN = "/api/login";

/**
 * @typedef {{
 *   api: (method: string, path: string, body?: unknown) => Promise<any>,
 *   readonly current: Profile | null,
 *   resume: () => Promise<void>,
 *   signIn: (username: string, password: string) => Promise<void>,
 *   signOut: () => Promise<void>,
 *   end: () => void,
 * }} Session
 */

/**
 * @param {{onStart: (profile: Profile) => void, onEnd: () => void, fetchImpl?: typeof fetch}} hooks
 *   onStart: someone is signed in (at load or through the form); onEnd: nobody is (any more).
 * @returns {Session}
 */
export function createSession(hooks) {
  /** @type {Profile | null} */
  let current = null;
  const raw = createApi(() => current && current.csrf, hooks.fetchImpl);

  /** @param {Profile} profile */
  function begin(profile) {
    current = profile;
    hooks.onStart(profile);
  }

  function end() {
    current = null;
    hooks.onEnd();
  }

  return {
    /**
     * The API client of the page. A 401 means the session ended elsewhere (signed out in another
     * tab, password changed): the page goes back to the sign-in form.
     * @param {string} method
     * @param {string} path
     * @param {unknown} [body]
     */
    async api(method, path, body) {
      try {
        return await raw(method, path, body);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401 && path !== LOGIN && current) end();
        throw err;
      }
    },
    get current() {
      return current;
    },
    /** The page was (re)loaded: carry on with the session the cookie holds, if any. */
    async resume() {
      let profile;
      try {
        profile = await raw("GET", "/api/me");
      } catch {
        end();
        return;
      }
      begin(profile);
    },
    /** Throws ApiError with the server's reason when the sign-in is refused. */
    async signIn(username, password) {
      begin(await raw("POST", LOGIN, { username, password }));
    },
    /** Ends the session on the server too, so a reload shows the sign-in form again. */
    async signOut() {
      try {
        await raw("POST", "/api/logout", {});
      } catch {
        // Gone already, or the server is away: the page signs out either way.
      }
      end();
    },
    end,
  };
}

/**
 * The sign-in page. On success the page replaces it with its own view; on failure it says why
 * and puts the focus back on the password.
 * @param {{subtitle: string, signIn: (username: string, password: string) => Promise<void>}} props
 */
export function SignIn(props) {
  const errorState = useState("");
  const error = errorState[0];
  const setError = errorState[1];
  const user = useRef(/** @type {HTMLInputElement | null} */ (null));
  const password = useRef(/** @type {HTMLInputElement | null} */ (null));
  useEffect(() => {
    if (user.current) user.current.focus();
  }, []);

  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    const username = user.current ? user.current.value.trim() : "";
    const secret = password.current ? password.current.value : "";
    setError("");
    if (!username || !secret) {
      setError("Enter your username and password.");
      return;
    }
    try {
      await props.signIn(username, secret);
    } catch (err) {
      setError((err instanceof Error && err.message) || "Sign-in failed.");
      if (password.current) password.current.focus();
    }
  }

  return html`<main id="login-view" class="login" aria-labelledby="login-title">
    <form id="login-form" class="login-card" novalidate onSubmit=${submit}>
      <div class="brand-mark" aria-hidden="true">HA</div>
      <h1 id="login-title">Harbor Assist</h1>
      <p class="login-sub">${props.subtitle}</p>
      <label for="login-user">Username</label>
      <input id="login-user" name="username" autocomplete="username" required ref=${user} />
      <label for="login-pass">Password</label>
      <input id="login-pass" name="password" type="password" autocomplete="current-password" required
        ref=${password} />
      <p id="login-error" class="form-error" role="alert" hidden=${!error}>${error}</p>
      <button type="submit" class="btn btn-primary btn-block">Sign in</button>
    </form>
  </main>`;
}
