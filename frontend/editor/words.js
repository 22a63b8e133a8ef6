// The editor's wording for dates and for the audit log's details.

/**
 * A date and time from the server (milliseconds or an ISO string) in the reader's locale; what
 * cannot be read as a date is shown as it came.
 * @param {unknown} value
 * @returns {string}
 */
export function when(value) {
  const date = typeof value === "number" ? new Date(value) : new Date(String(value));
  if (Number.isNaN(date.getTime())) return String(value || "");
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * An audit entry's details as one line: "phrasings: a; b · answer: …".
 * @param {unknown} details
 * @returns {string}
 */
export function describe(details) {
  if (!details || typeof details !== "object") return "";
  const record = /** @type {Record<string, unknown>} */ (details);
  return Object.keys(record)
    .map((key) => {
      let value = record[key];
      if (Array.isArray(value)) {
        value = value
          .map((x) => (x && typeof x === "object" ? /** @type {any} */ (x).message || JSON.stringify(x) : x))
          .join("; ");
      } else if (value && typeof value === "object") {
        value = JSON.stringify(value);
      }
      return `${key.replace(/_/g, " ")}: ${value}`;
    })
    .join(" · ");
}
