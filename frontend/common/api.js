// JSON over HTTP to the service, for the console and the editor. Every call sends the session
// cookie; every call that changes something also sends the CSRF token the login returned.

export const UNREACHABLE = "The server cannot be reached. Check your connection and try again.";

/** An answer the server refused: the message is the server's own, for showing to the user. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   * @param {unknown} body
   */
  constructor(message, status, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/**
 * The message to show for a refused request: the server's `message`, else its `error` code,
 * else the status.
 * @param {number} status
 * @param {any} body
 * @returns {string}
 */
export function refusalText(status, body) {
  if (body && typeof body === "object") {
    if (typeof body.message === "string" && body.message) return body.message;
    if (typeof body.error === "string" && body.error) return body.error;
  }
  return `Request failed (${status})`;
}

/**
 * A client bound to a source of the CSRF token (it changes when someone signs in again).
 * @param {() => (string | null | undefined)} csrf
 * @param {typeof fetch} [fetchImpl]
 */
export function createApi(csrf, fetchImpl = (input, init) => fetch(input, init)) {
  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @returns {Promise<any>}
   */
  return async function api(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const token = csrf();
    if (method !== "GET" && token) headers["X-CSRF-Token"] = token;
    let response;
    try {
      response = await fetchImpl(path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      // No answer at all (offline, the service restarting): status 0, the same wording everywhere.
      throw new ApiError(UNREACHABLE, 0, { error: "network", message: UNREACHABLE });
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(refusalText(response.status, data), response.status, data);
    return data;
  };
}
