// The brand colour from the shop's script tag carries white text (header, launcher, the
// customer's bubbles), so it must reach WCAG AA (4.5:1) against white: a lighter colour is
// darkened in small steps until it does, which keeps its hue recognisable.

export const DEFAULT_BRAND = "#0b5d6b";
const AA = 4.5;

/**
 * WCAG relative luminance of an sRGB colour (channels 0–255).
 * @param {number[]} rgb
 * @returns {number}
 */
export function luminance(rgb) {
  const linear = rgb.map((channel) => {
    const v = channel / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
}

/**
 * Contrast ratio of white text on this colour.
 * @param {number[]} rgb
 * @returns {number}
 */
export function contrastWithWhite(rgb) {
  return 1.05 / (luminance(rgb) + 0.05);
}

/**
 * `#rgb` or `#rrggbb` (the `#` optional) as channels; null for anything else.
 * @param {unknown} value
 * @returns {number[] | null}
 */
export function parseHex(value) {
  const match = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value).trim());
  if (!match) return null;
  const hex = match[1].length === 3 ? match[1].replace(/(.)/g, "$1$1") : match[1];
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/**
 * The shop's colour, darkened as far as white text needs; the default for an unreadable value.
 * @param {unknown} value
 * @returns {string} `#rrggbb`
 */
export function readableColour(value) {
  let rgb = parseHex(value);
  if (!rgb) return DEFAULT_BRAND;
  for (let step = 0; step < 40 && contrastWithWhite(rgb) < AA; step += 1) {
    rgb = rgb.map((v) => Math.floor(v * 0.92));
  }
  return `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}
