// The Dashboard tab: the period's figures as cards with bars, and a per-day chart of
// conversations, handoffs and tickets drawn as SVG by Preact (with a text summary for screen
// readers). Redis keeps the day counters for 90 days; for periods over a week the chart and
// every period figure but the next responses within target come from the archive when the
// service has one (`archive` of /api/stats), which covers the whole period and survives a
// Redis flush.
import { percent, waitText } from "../common/format.js";
import { html, useLayoutEffect, useRef, useState } from "../common/view.js";

/**
 * @typedef {import("./controller.js").Actions} Actions
 * @typedef {{label: string, value: string, bar?: number | null, tone?: string}} Card
 * @typedef {{day: string, conversations?: number, handoffs?: number, tickets?: number, [counter: string]: string | number | undefined}} Day
 * @typedef {[string, string]} Series a counter's name and its bars' class suffix
 * @typedef {{
 *   source: "archive" | "live",
 *   daily: Day[],
 *   bucket: "day" | "week",
 *   series: Series[],
 *   conversations: number,
 *   handoffs: number,
 *   containment_rate: number | null,
 *   csat: number | null,
 *   csat_average: number | null,
 *   tickets: number,
 *   median_wait_seconds: number | null,
 *   median_first_response_seconds: number | null,
 *   median_handling_seconds: number | null,
 *   first_within: {within: number, total: number, share: number | null},
 * }} PeriodFigures
 */

/** The period selector's choices (days). */
export const PERIODS = [
  ["1", "Today"],
  ["7", "7 days"],
  ["30", "30 days"],
  ["90", "90 days"],
  ["365", "365 days"],
];
/** Longer periods than this come from the archive, when it is there. */
export const LIVE_PERIOD_DAYS = 7;
/** How many days Redis keeps the day counters (STATS_TTL): older days are missing there. */
export const LIVE_KEPT_DAYS = 90;
/** Longer periods are charted by week: a year of days is too many bars to read. */
export const DAILY_CHART_DAYS = 90;

/**
 * @param {number | null | undefined} x
 * @returns {number | null}
 */
function clamp01(x) {
  return x == null ? null : Math.max(0, Math.min(1, x));
}

/**
 * The dashboard's cards for `GET /api/stats`: a figure with nothing to measure shows "—". Every
 * figure of the period but the next responses within target (only the live counters know
 * them) and waiting now is the period's figures' (periodFigures) when given.
 * @param {Record<string, any>} s
 * @param {PeriodFigures} [figures]
 * @returns {Card[]}
 */
export function statCards(s, figures) {
  const period = figures || figuresOf(s, "live");
  const fromArchive = period.source === "archive";
  const conversations = period.conversations;
  const handoffs = period.handoffs;
  const handoffRate =
    s.handoff_rate !== undefined && !fromArchive
      ? s.handoff_rate
      : conversations
        ? clamp01(handoffs / conversations)
        : null;
  /** @param {number | null | undefined} v */
  const seconds = (v) => (v == null ? "—" : waitText(v));
  /** @param {number | null | undefined} v @param {number} full */
  const partOf = (v, full) => (v == null ? null : Math.min(1, v / full));
  let csat = period.csat_average == null ? "—" : `${period.csat_average.toFixed(2)} / 5`;
  if (period.csat != null) csat += ` · ${percent(period.csat)} satisfied`;
  const containment = period.containment_rate;
  return [
    { label: "Conversations", value: String(conversations) },
    { label: "Handoffs to a person", value: String(handoffs) },
    { label: "Handoff rate", value: percent(handoffRate), bar: clamp01(handoffRate), tone: "amber" },
    { label: "Containment rate", value: percent(containment), bar: clamp01(containment), tone: "teal" },
    { label: "CSAT", value: csat, bar: period.csat_average == null ? null : period.csat_average / 5, tone: "green" },
    { label: "Median wait", value: seconds(period.median_wait_seconds), bar: partOf(period.median_wait_seconds, 600), tone: "blue" },
    { label: "First response", value: seconds(period.median_first_response_seconds), bar: partOf(period.median_first_response_seconds, 300), tone: "blue" },
    { label: "Median handling", value: seconds(period.median_handling_seconds), bar: partOf(period.median_handling_seconds, 900), tone: "blue" },
    withinTargetCard("First responses within target", period.first_within),
    withinTargetCard("Next responses within target", withinTargetOf(s.counters || {}, s.next_response_within_target, "next")),
    { label: "Waiting now", value: String(s.waiting_now || 0) },
    { label: "Tickets", value: String(period.tickets) },
  ];
}

/**
 * How many of a kind of reply came within their target, of how many, from a set of counters
 * (a period's `counters` or one day of `daily`).
 * @param {Record<string, any>} counters
 * @param {"first" | "next"} kind
 */
export function withinTarget(counters, kind) {
  const within = Number(counters[`${kind}_response_within`]) || 0;
  const total = within + (Number(counters[`${kind}_response_breached`]) || 0);
  return { within, total, share: total ? within / total : null };
}

/**
 * A source's share of first (or next) responses within target, with the counts it is of: the
 * counts from its counters (the live `counters`, or the archive's totals, named alike), the
 * share as the service rounded it.
 * @param {Record<string, any>} counters
 * @param {unknown} share
 * @param {"first" | "next"} kind
 */
function withinTargetOf(counters, share, kind) {
  return { ...withinTarget(counters, kind), share: figure(share) };
}

/**
 * A card for the share of first (or next) responses within target: "80% (4 of 5)", or "—".
 * @param {string} label
 * @param {{within: number, total: number, share: number | null}} counted
 * @returns {Card}
 */
function withinTargetCard(label, counted) {
  const share = counted.share;
  const value = share == null ? "—" : `${percent(share)} (${counted.within} of ${counted.total})`;
  return { label, value, bar: clamp01(share), tone: "green" };
}

/**
 * The days of the period that had replies to time, newest first, with the share of first and
 * next responses within target that day ("—" for none).
 * @param {Day[]} daily
 * @returns {{day: string, first: string, next: string}[]}
 */
export function withinTargetByDay(daily) {
  /** @param {{within: number, total: number, share: number | null}} c */
  const text = (c) => (c.share == null ? "—" : `${percent(c.share)} (${c.within} of ${c.total})`);
  return daily
    .map((d) => {
      const counters = /** @type {Record<string, any>} */ (d);
      return { day: d.day, first: withinTarget(counters, "first"), next: withinTarget(counters, "next") };
    })
    .filter((d) => d.first.total || d.next.total)
    .reverse()
    .map((d) => ({ day: d.day, first: text(d.first), next: text(d.next) }));
}

/** @type {Series[]} */
const SERIES = [
  ["conversations", "conv"],
  ["handoffs", "hand"],
  ["tickets", "tick"],
];

/**
 * Days summed into weeks (7 days each from the first; the last may be shorter), each named by
 * its first day.
 * @param {Day[]} daily
 * @returns {Day[]}
 */
export function weekly(daily) {
  /** @type {Day[]} */
  const weeks = [];
  daily.forEach((d, i) => {
    if (i % 7 === 0) weeks.push({ day: d.day, conversations: 0, handoffs: 0, tickets: 0 });
    const week = /** @type {Record<string, any>} */ (weeks[weeks.length - 1]);
    for (const name of ["conversations", "handoffs", "tickets"]) {
      week[name] += Number(/** @type {Record<string, any>} */ (d)[name]) || 0;
    }
  });
  return weeks;
}

/**
 * @param {unknown} v
 * @returns {number | null} a figure, or null for one with nothing to measure (or missing)
 */
function figure(v) {
  return v == null || !Number.isFinite(Number(v)) ? null : Number(v);
}

/**
 * The period's figures from one source, by day: the answer of /api/stats or its `archive` (both
 * name their totals and rates alike).
 * @param {Record<string, any>} answer
 * @param {"archive" | "live"} source
 * @returns {PeriodFigures}
 */
function figuresOf(answer, source) {
  return {
    source,
    daily: /** @type {Day[]} */ (Array.isArray(answer.daily) ? answer.daily : []),
    bucket: "day",
    series: SERIES,
    conversations: Number(answer.conversations) || 0,
    handoffs: Number(answer.handoffs) || 0,
    containment_rate: figure(answer.containment_rate),
    csat: figure(answer.csat),
    csat_average: figure(answer.csat_average),
    tickets: Number(answer.tickets) || 0,
    median_wait_seconds: figure(answer.median_wait_seconds),
    median_first_response_seconds: figure(answer.median_first_response_seconds),
    median_handling_seconds: figure(answer.median_handling_seconds),
    // The live answer keeps its counts in `counters`; the archive's totals are its own.
    first_within: withinTargetOf(
      source === "archive" ? answer : answer.counters || {},
      answer.first_response_within_target,
      "first",
    ),
  };
}

/**
 * Where the period's chart and figures (all but the next responses within target) come from:
 * the archive for periods over a week when /api/stats brought its figures (null when the
 * archive is not available), else the Redis counters.
 * @param {Record<string, any>} stats the answer of `GET /api/stats?days=…`
 * @param {string} days the period chosen
 * @returns {PeriodFigures}
 */
export function periodFigures(stats, days) {
  const n = Number(days) || 1;
  const archive = stats.archive;
  const fromArchive = n > LIVE_PERIOD_DAYS && !!archive && typeof archive === "object" && Array.isArray(archive.daily);
  const figures = fromArchive ? figuresOf(archive, "archive") : figuresOf(stats, "live");
  return n > DAILY_CHART_DAYS ? { ...figures, bucket: "week", daily: weekly(figures.daily) } : figures;
}

/**
 * The chart's title: what is counted, by day or week, and from where.
 * @param {PeriodFigures} figures
 */
export function chartTitle(figures) {
  return `Conversations, handoffs and tickets per ${figures.bucket}${figures.source === "archive" ? ", from the archive" : ""}`;
}

/**
 * What the reader should know about the period's coverage ("" when nothing): Redis's counters
 * reach back 90 days only, so over that the note says that the archive's figures cover the whole
 * period and names what only the live counters know (next responses within target, and the
 * table of responses within target by day), which covers the last 90 days at most.
 * @param {PeriodFigures} figures
 * @param {string} days
 */
export function coverageNote(figures, days) {
  if ((Number(days) || 1) <= LIVE_KEPT_DAYS) return "";
  if (figures.source === "archive") {
    return (
      `Every figure of the period covers ${days} days, from the archive, except next responses within target ` +
      `and the responses within target by day, which the archive does not keep: they cover the last ${LIVE_KEPT_DAYS} days at most.`
    );
  }
  return `The archive is not available: these figures cover the last ${LIVE_KEPT_DAYS} days at most.`;
}

/**
 * The top of the chart's scale: even, so that its half is a whole count too.
 * @param {Day[]} daily
 * @param {Series[]} [series]
 */
export function scaleTop(daily, series = SERIES) {
  let max = 1;
  for (const d of daily) {
    for (const one of series) max = Math.max(max, Number(/** @type {any} */ (d)[one[0]]) || 0);
  }
  return max <= 1 ? 2 : max + (max % 2);
}

/**
 * The chart as text, for screen readers: each day (or week, named by its first day) with its
 * counts.
 * @param {Day[]} daily
 * @param {Series[]} [series]
 * @param {"day" | "week"} [bucket]
 */
export function chartSummary(daily, series = SERIES, bucket = "day") {
  return (
    daily
      .map(
        (d) =>
          `${bucket === "week" ? "week of " : ""}${d.day}: ${series
            .map((one) => `${Number(/** @type {any} */ (d)[one[0]]) || 0} ${one[0]}`)
            .join(", ")}`,
      )
      .join("; ") || "No data yet"
  );
}

/** @param {{daily: Day[], series: Series[], bucket: "day" | "week", width: number}} props */
function ChartSvg(props) {
  const daily = props.daily;
  const series = props.series;
  const width = props.width;
  const max = scaleTop(daily, series);
  const count = series.length;
  // Drawn at the container's own width so that text keeps its size and nothing stretches.
  const W = Math.max(320, Math.round(width || 760));
  const H = 220;
  const left = 36;
  const bottom = 28;
  const top = 10;
  const plotH = H - bottom - top;
  const groupW = (W - left) / Math.max(1, daily.length);
  const barW = Math.max(3, Math.min(22, (groupW - 8) / count));
  const labelEvery = daily.length <= 10 ? 1 : Math.ceil(daily.length / 10);
  return html`<svg viewBox=${`0 0 ${W} ${H}`} role="img" class="chart-svg" aria-label=${chartSummary(daily, series, props.bucket)}>
    ${[0, 0.5, 1].map((f) => {
      const y = top + plotH * (1 - f);
      return html`<line x1=${left} x2=${W} y1=${y} y2=${y} class="grid" />
        <text x=${left - 6} y=${y + 4} class="axis" text-anchor="end">${max * f}</text>`;
    })}
    ${daily.map((d, i) => {
      const x0 = left + i * groupW + (groupW - barW * count) / 2;
      const bars = series.map((one, j) => {
        const name = one[0];
        const css = one[1];
        const v = Number(/** @type {any} */ (d)[name]) || 0;
        const h = (plotH * v) / max;
        return html`<rect x=${x0 + j * barW} y=${top + plotH - h} width=${barW - 1} height=${Math.max(0, h)}
          class=${`bar-${css}`}><title>${`${props.bucket === "week" ? "week of " : ""}${d.day} ${name}: ${v}`}</title></rect>`;
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

/** @param {{figures: PeriodFigures | null}} props */
function Chart(props) {
  const figures = props.figures;
  const daily = figures ? figures.daily : null;
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  const widthState = useState(0);
  const width = widthState[0];
  const setWidth = widthState[1];
  useLayoutEffect(() => {
    const measured = box.current ? box.current.clientWidth : 0;
    if (measured && measured !== width) setWidth(measured);
  }, [daily]);
  return html`<div id="chart" class="chart" ref=${box}>
    ${figures
      ? html`<${ChartSvg} daily=${figures.daily} series=${figures.series} bucket=${figures.bucket} width=${width} />`
      : null}
  </div>`;
}

/** @param {{stats: Record<string, any> | null, days: string, act: Actions}} props */
export function Dashboard(props) {
  const stats = props.stats;
  const days = props.days;
  const act = props.act;
  const figures = stats ? periodFigures(stats, days) : null;
  const note = figures ? coverageNote(figures, days) : "";
  return html`
    <div class="page-head">
      <h2>Dashboard</h2>
      <label class="inline">Period
        <select id="stats-days" value=${days}
          onChange=${(/** @type {Event} */ e) => act.setStatsDays(/** @type {HTMLSelectElement} */ (e.currentTarget).value)}>
          ${PERIODS.map((p) => html`<option key=${p[0]} value=${p[0]}>${p[1]}</option>`)}
        </select>
      </label>
    </div>
    <p id="stats-note" class="stats-note" hidden=${!note}>${note}</p>
    <div id="stats" class="stats">
      ${stats
        ? statCards(stats, figures || undefined).map(
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
    <section class="chart-card" aria-labelledby="targets-title" hidden=${!stats}>
      <h3 id="targets-title" class="chart-title">Responses within target, by day</h3>
      ${stats && withinTargetByDay(Array.isArray(stats.daily) ? stats.daily : []).length
        ? html`<table id="targets-by-day" class="stats-days-table">
            <thead><tr><th scope="col">Day</th><th scope="col">First responses</th><th scope="col">Next responses</th></tr></thead>
            <tbody>
              ${withinTargetByDay(stats.daily).map(
                (d) => html`<tr key=${d.day}><th scope="row">${d.day}</th><td>${d.first}</td><td>${d.next}</td></tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="empty">No replies timed in this period yet.</p>`}
    </section>
    <section class="chart-card" aria-labelledby="chart-title">
      <h3 id="chart-title" class="chart-title">
        ${figures ? chartTitle(figures) : "Conversations, handoffs and tickets per day"}</h3>
      <${Chart} figures=${figures} />
      <p class="chart-legend"><span class="key key-conv"></span> Conversations <span class="key key-hand"></span> Handoffs to a person <span class="key key-tick"></span> Tickets</p>
    </section>
  `;
}
