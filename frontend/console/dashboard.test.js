import { test } from "node:test";
import assert from "node:assert/strict";
import { chartSummary, chartTitle, coverageNote, periodFigures, statCards, weekly } from "./dashboard.js";
import { initialState, reduce } from "./state.js";

/** @param {number} n @param {(i: number) => Record<string, number>} counts */
function days(n, counts) {
  return Array.from({ length: n }, (_, i) => ({ day: `2026-01-${String(i + 1).padStart(2, "0")}`, ...counts(i) }));
}

const LIVE = {
  conversations: 10,
  handoffs: 4,
  handoff_rate: 0.4,
  containment_rate: 0.5,
  csat: 0.9,
  csat_average: 4.5,
  median_wait_seconds: 42,
  median_first_response_seconds: 30,
  median_handling_seconds: 300,
  counters: { first_response_within: 3, first_response_breached: 1, next_response_within: 1, next_response_breached: 1 },
  first_response_within_target: 0.75,
  next_response_within_target: 0.5,
  tickets: 2,
  daily: days(7, () => ({ conversations: 1, handoffs: 1, tickets: 0 })),
};
const ARCHIVE = {
  daily: days(30, () => ({ conversations: 2, handoffs: 1, person_needed: 1, rated: 1, rating_sum: 3, satisfied: 0, tickets: 1 })),
  conversations: 60,
  handoffs: 30,
  person_needed: 45,
  rated: 30,
  rating_sum: 90,
  satisfied: 12,
  containment_rate: 0.25,
  csat: 0.4,
  csat_average: 3,
  tickets: 30,
  first_response_within: 9,
  first_response_breached: 1,
  first_response_within_target: 0.9,
  median_wait_seconds: 125,
  median_first_response_seconds: 61,
  median_handling_seconds: null,
};

/** @param {import("./dashboard.js").Card[]} cards @param {string} label */
function card(cards, label) {
  const found = cards.find((c) => c.label === label);
  assert.ok(found, label);
  return found;
}

test("a week or less comes from the live counters, even with the archive there", () => {
  for (const period of ["1", "7"]) {
    const figures = periodFigures({ ...LIVE, archive: ARCHIVE }, period);
    assert.equal(figures.source, "live");
    assert.equal(figures.conversations, 10);
    assert.deepEqual(figures.series.map((s) => s[0]), ["conversations", "handoffs", "tickets"]);
  }
});

test("longer periods come from the archive when it answered, else from the live counters", () => {
  const figures = periodFigures({ ...LIVE, archive: ARCHIVE }, "30");
  assert.equal(figures.source, "archive");
  assert.equal(figures.daily.length, 30);
  assert.equal(figures.conversations, 60);
  assert.equal(figures.handoffs, 30);
  assert.deepEqual(figures.series.map((s) => s[0]), ["conversations", "handoffs", "tickets"]);
  assert.equal(chartTitle(figures), "Conversations, handoffs and tickets per day, from the archive");
  const cards = statCards({ ...LIVE, archive: ARCHIVE }, figures);
  assert.equal(cards.find((c) => c.label === "Conversations")?.value, "60");
  assert.equal(cards.find((c) => c.label === "Handoffs to a person")?.value, "30");
  assert.equal(cards.find((c) => c.label === "Handoff rate")?.value, "50%", "the rate of the archive's own figures");
  assert.deepEqual(card(cards, "Containment rate"), { label: "Containment rate", value: "25%", bar: 0.25, tone: "teal" });
  assert.equal(card(cards, "CSAT").value, "3.00 / 5 · 40% satisfied");
  assert.equal(card(cards, "CSAT").bar, 0.6);
  // The waits, responses and tickets of the archive, not the live 42 s, 30 s, 5 min and 2.
  assert.equal(card(cards, "Median wait").value, "2m 5s");
  assert.equal(card(cards, "First response").value, "1m 1s");
  assert.deepEqual(card(cards, "Median handling"), { label: "Median handling", value: "—", bar: null, tone: "blue" });
  assert.deepEqual(card(cards, "First responses within target"), {
    label: "First responses within target",
    value: "90% (9 of 10)",
    bar: 0.9,
    tone: "green",
  });
  assert.equal(card(cards, "Tickets").value, "30");
  // Only the live counters know the next responses.
  assert.equal(card(cards, "Next responses within target").value, "50% (1 of 2)");

  const without = periodFigures({ ...LIVE, archive: null }, "30");
  assert.equal(without.source, "live");
  assert.equal(without.conversations, 10);
  assert.equal(chartTitle(without), "Conversations, handoffs and tickets per day");
  assert.equal(statCards(LIVE, without).find((c) => c.label === "Handoff rate")?.value, "40%");
  assert.equal(card(statCards(LIVE, without), "Containment rate").value, "50%");
  assert.equal(card(statCards(LIVE, without), "CSAT").value, "4.50 / 5 · 90% satisfied");
});

test("a week shows the live containment and CSAT; the archive's, with nothing to measure, show a dash", () => {
  const week = statCards({ ...LIVE, archive: ARCHIVE }, periodFigures({ ...LIVE, archive: ARCHIVE }, "7"));
  assert.equal(card(week, "Containment rate").value, "50%");
  assert.equal(card(week, "CSAT").value, "4.50 / 5 · 90% satisfied");
  const unrated = { ...ARCHIVE, rated: 0, rating_sum: 0, satisfied: 0, csat: null, csat_average: null };
  const quiet = { ...unrated, conversations: 0, handoffs: 0, person_needed: 0, containment_rate: null };
  for (const archive of [unrated, quiet]) {
    const cards = statCards({ ...LIVE, archive }, periodFigures({ ...LIVE, archive }, "30"));
    assert.equal(card(cards, "CSAT").value, "—", "not the live 4.50");
    assert.equal(card(cards, "CSAT").bar, null);
  }
  const quietCards = statCards({ ...LIVE, archive: quiet }, periodFigures({ ...LIVE, archive: quiet }, "30"));
  assert.equal(card(quietCards, "Containment rate").value, "—");
  assert.equal(card(quietCards, "Containment rate").bar, null);
});

test("a year is charted by week, and the note says what the live counters cannot cover", () => {
  const year = { daily: days(365, (i) => ({ conversations: i % 2, handoffs: 0 })), conversations: 182, handoffs: 0 };
  const figures = periodFigures({ ...LIVE, archive: year }, "365");
  assert.equal(figures.bucket, "week");
  assert.equal(figures.daily.length, 53);
  assert.equal(figures.daily.reduce((n, d) => n + (d.conversations || 0), 0), 182);
  assert.equal(chartTitle(figures), "Conversations, handoffs and tickets per week, from the archive");
  assert.match(chartSummary(figures.daily, figures.series, "week"), /^week of 2026-01-01: 3 conversations, 0 handoffs, 0 tickets;/);
  assert.equal(
    coverageNote(figures, "365"),
    "Every figure of the period covers 365 days, from the archive, except next responses within target " +
      "and the responses within target by day, which the archive does not keep: they cover the last 90 days at most.",
  );
  assert.equal(figures.containment_rate, null, "the year's archive figures, not the live ones");
  assert.match(coverageNote(periodFigures({ ...LIVE, archive: null }, "365"), "365"), /archive is not available/);
  assert.equal(coverageNote(periodFigures({ ...LIVE, archive: ARCHIVE }, "30"), "30"), "");
  assert.deepEqual(weekly([]), []);
});

test("an answer for a period no longer chosen is dropped", () => {
  let state = reduce(initialState("app"), { type: "stats-days", days: "30" });
  state = reduce(state, { type: "stats-days", days: "365" });
  const late = reduce(state, { type: "stats", stats: { conversations: 1 }, days: "30" });
  assert.equal(late.stats, null);
  state = reduce(state, { type: "stats", stats: { conversations: 2 }, days: "365" });
  assert.deepEqual(state.stats, { conversations: 2 });
});

test("the share of replies within target, for the period and by day", async () => {
  const d = await import("./dashboard.js");
  assert.deepEqual(d.withinTarget({ first_response_within: 3, first_response_breached: 1 }, "first"), {
    within: 3,
    total: 4,
    share: 0.75,
  });
  assert.deepEqual(d.withinTarget({}, "next"), { within: 0, total: 0, share: null });
  const cards = d.statCards({
    counters: { first_response_within: 3, first_response_breached: 1 },
    first_response_within_target: 0.75,
    next_response_within_target: null,
  });
  const byLabel = Object.fromEntries(cards.map((c) => [c.label, c]));
  assert.equal(byLabel["First responses within target"].value, "75% (3 of 4)");
  assert.equal(byLabel["First responses within target"].bar, 0.75);
  assert.equal(byLabel["Next responses within target"].value, "—");
  const days = d.withinTargetByDay([
    { day: "2026-12-01", next_response_within: 2 },
    { day: "2026-12-02" },
    { day: "2026-12-03", first_response_within: 1, first_response_breached: 1 },
  ]);
  // Newest first, days without a timed reply left out.
  assert.deepEqual(days, [
    { day: "2026-12-03", first: "50% (1 of 2)", next: "—" },
    { day: "2026-12-01", first: "—", next: "100% (2 of 2)" },
  ]);
});
