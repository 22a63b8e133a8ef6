// Saving a file the service makes on request (an admin's privacy export): a POST with the
// session's CSRF token whose answer is downloaded as a file rather than shown. The answer is read
// whole, kept as a Blob and handed to the browser through a temporary link with `download`: a
// form post could not send the CSRF header, and a plain link could not POST.
import { ApiError, UNREACHABLE, refusalText } from "./api.js";

/**
 * The file name a Content-Disposition header gives (RFC 6266: `filename*=UTF-8''…` before
 * `filename="…"`), without anything that could name a folder; `fallback` when there is none.
 * @param {string | null | undefined} disposition
 * @param {string} fallback
 * @returns {string}
 */
export function filenameOf(disposition, fallback) {
  const header = String(disposition || "");
  let name = "";
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      name = decodeURIComponent(extended[1].trim());
    } catch {
      name = "";
    }
  }
  if (!name) {
    const quoted = /filename\s*=\s*"([^"]*)"/i.exec(header);
    const bare = /filename\s*=\s*([^;"\s]+)/i.exec(header);
    name = quoted ? quoted[1] : bare ? bare[1] : "";
  }
  const safe = name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_").replace(/^\.+/, "").trim();
  return safe || fallback;
}

/**
 * POST `body` as JSON with the CSRF token and return the answer as a file to save. Throws
 * ApiError as api.js does (the server's message; status 0 when there was no answer).
 * @param {string} path
 * @param {unknown} body
 * @param {string | null | undefined} csrf
 * @param {string} fallbackName the file name when the answer names none
 * @param {typeof fetch} [fetchImpl]
 * @returns {Promise<{blob: Blob, filename: string}>}
 */
export async function postForDownload(path, body, csrf, fallbackName, fetchImpl = (input, init) => fetch(input, init)) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json", "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  let response;
  try {
    response = await fetchImpl(path, { method: "POST", headers, credentials: "same-origin", body: JSON.stringify(body) });
  } catch {
    throw new ApiError(UNREACHABLE, 0, { error: "network", message: UNREACHABLE });
  }
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new ApiError(refusalText(response.status, data), response.status, data);
  }
  const blob = await response.blob();
  return { blob, filename: filenameOf(response.headers.get("Content-Disposition"), fallbackName) };
}

/**
 * Hand a Blob to the browser as a download named `filename`.
 * @param {Blob} blob
 * @param {string} filename
 */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Revoked later, not at once: some browsers start reading the Blob after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
