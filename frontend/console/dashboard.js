// The Dashboard tab: the period's figures as cards with bars, and a per-day chart of
// conversations, handoffs and tickets drawn as SVG by Preact (with a text summary for screen
// readers).
import { percent, waitText } from "../common/format.js";
import { html, useLayoutEffect, useRef, useState } from "../common/view.js";

/**
 * @typedef {import("./controller.js").Actions} Actions
 * @typedef {{label: string, value: string, bar?: number | null, tone?: string}} Card
 * @typedef {{day: string, conversations?: number, handoffs?: number, tickets?: number}} Day
 */

/**
 * @param {number | null | undefined} x
 * @returns {number | null}
 */
function clamp01(x) {
  return x == null ? null : Math.max(0, Math.min(1, x));
}

/**
 * The dashboard's cards for `GET /api/stats`: a figure with nothing to measure shows "—".
 * @param {Record<string, any>} s
 * @returns {Card[]}
 */
export function statCards(s) {
  const handoffRate =
    s.handoff_rate !== undefined ? s.handoff_rate : s.conversations ? clamp01(s.handoffs / s.conversations) : null;
  /** @param {number | null | undefined} v */
  const seconds = (v) => (v == null ? "—" : waitText(v));
  /** @param {number | null | undefined} v @param {number} full */
  const partOf = (v, full) => (v == null ? null : Math.min(1, v / full));
  let csat = s.csat_average == null ? "—" : `${Number(s.csat_average).toFixed(2)} / 5`;
  if (s.csat != null) csat += ` · ${percent(s.csat)} satisfied`;
  return [
    { label: "Conversations", value: String(s.conversations || 0) },
    { label: "Handoff rate", value: percent(handoffRate), bar: clamp01(handoffRate), tone: "amber" },
    { label: "Containment rate", value: percent(s.containment_rate), bar: clamp01(s.containment_rate), tone: "teal" },
    { label: "CSAT", value: csat, bar: s.csat_average == null ? null : s.csat_average / 5, tone: "green" },
    { label: "Median wait", value: seconds(s.median_wait_seconds), bar: partOf(s.median_wait_seconds, 600), tone: "blue" },
    { label: "First response", value: seconds(s.median_first_response_seconds), bar: partOf(s.median_first_response_seconds, 300), tone: "blue" },
    { label: "Median handling", value: seconds(s.median_handling_seconds), bar: partOf(s.median_handling_seconds, 900), tone: "blue" },
    { label: "Waiting now", value: String(s.waiting_now || 0) },
    { label: "Tickets", value: String(s.tickets || 0) },
  ];
}

const SERIES = [
  ["conversations", "conv"],
  ["handoffs", "hand"],
  ["tickets", "tick"],
];

/**
 * The top of the chart's scale: even, so that its half is a whole count too.
 * @param {Day[]} daily
 */
export function scaleTop(daily) {
  let max = 1;
  for (const d of daily) {
    for (const series of SERIES) max = Math.max(max, Number(/** @type {any} */ (d)[series[0]]) || 0);
  }
  return max <= 1 ? 2 : max + (max % 2);
}

/**
 * @param {Day[]} daily
 */
export function chartSummary(daily) {
  return (
    daily
      .map((d) => `${d.day}: ${d.conversations || 0} conversations, ${d.handoffs || 0} handoffs, ${d.tickets || 0} tickets`)
      .join("; ") || "No data yet"
  );
}

/** @param {{daily: Day[], width: number}} props */
function ChartSvg(props) {
  const daily = props.daily;
  const width = props.width;
  const max = scaleTop(daily);
  // Drawn at the container's own width so that text keeps its size and nothing stretches.
  const W = Math.max(320, Math.round(width || 760));
  const H = 220;
  const left = 36;
  const bottom = 28;
  const top = 10;
  const plotH = H - bottom - top;
  const groupW = (W - left) / Math.max(1, daily.length);
  const barW = Math.max(3, Math.min(22, (groupW - 8) / 3));
  const labelEvery = daily.length <= 10 ? 1 : Math.ceil(daily.length / 10);
  return html`<svg viewBox=${`0 0 ${W} ${H}`} role="img" class="chart-svg" aria-label=${chartSummary(daily)}>
    ${[0, 0.5, 1].map((f) => {
      const y = top + plotH * (1 - f);
      return html`<line x1=${left} x2=${W} y1=${y} y2=${y} class="grid" />
        <text x=${left - 6} y=${y + 4} class="axis" text-anchor="end">${max * f}</text>`;
    })}
    ${daily.map((d, i) => {
      const x0 = left + i * groupW + (groupW - barW * 3) / 2;
      const bars = SERIES.map((series, j) => {
        const name = series[0];
        const css = series[1];
        const v = Number(/** @type {any} */ (d)[name]) || 0;
        const h = (plotH * v) / max;
        return html`<rect x=${x0 + j * barW} y=${top + plotH - h} width=${barW - 1} height=${Math.max(0, h)}
          class=${`bar-${css}`}><title>${`${d.day} ${name}: ${v}`}</title></rect>`;
      });
      const label =
        i % labelEvery === 0
          ? html`<text x=${left + i * groupW + groupW / 2} y=${H - 8} class="axis" text-anchor="middle">
              ${new Date(`${d.day}T12:00:00Z`).toLocaleDateString([], { month: "short", day: "numeric" })}</text>`
          : null;
      return [bars, label];
    })}
  </svg>`;
}

/** @param {{daily: Day[] | null}} props */
function Chart(props) {
  const daily = props.daily;
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  const widthState = useState(0);
  const width = widthState[0];
  const setWidth = widthState[1];
  useLayoutEffect(() => {
    const measured = box.current ? box.current.clientWidth : 0;
    if (measured && measured !== width) setWidth(measured);
  }, [daily]);
  return html`<div id="chart" class="chart" ref=${box}>
    ${daily ? html`<${ChartSvg} daily=${daily} width=${width} />` : null}
  </div>`;
}

/** @param {{stats: Record<string, any> | null, days: string, act: Actions}} props */
export function Dashboard(props) {
  const stats = props.stats;
  const days = props.days;
  const act = props.act;
  return html`
    <div class="page-head">
      <h2>Dashboard</h2>
      <label class="inline">Period
        <select id="stats-days" value=${days}
          onChange=${(/** @type {Event} */ e) => act.setStatsDays(/** @type {HTMLSelectElement} */ (e.currentTarget).value)}>
          <option value="1">Today</option><option value="7">7 days</option><option value="30">30 days</option>
        </select>
      </label>
    </div>
    <div id="stats" class="stats">
      ${stats
        ? statCards(stats).map(
            (c) => html`<div class="stat" key=${c.label}>
              <span class="stat-label">${c.label}</span>
              <span class="stat-value">${c.value}</span>
              ${c.bar !== undefined
                ? html`<div class="bar" aria-hidden="true">
                    <div class=${`bar-fill tone-${c.tone}`}
                      style=${{ width: `${c.bar == null ? 0 : Math.round(Math.max(0, Math.min(1, c.bar)) * 100)}%` }}></div>
                  </div>`
                : null}
            </div>`,
          )
        : null}
    </div>
    <section class="chart-card" aria-labelledby="chart-title">
      <h3 id="chart-title" class="chart-title">Conversations and handoffs per day</h3>
      <${Chart} daily=${stats ? (Array.isArray(stats.daily) ? stats.daily : []) : null} />
      <p class="chart-legend"><span class="key key-conv"></span> Conversations <span class="key key-hand"></span> Handoffs to a person <span class="key key-tick"></span> Tickets</p>
    </section>
  `;
}
