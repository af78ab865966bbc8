/**
 * Every number the engine weighs evidence with, in one place, each with its reason. Scores are
 * additive points on one log-odds scale: one point multiplies the odds that a candidate is the root
 * by e^NATS_PER_POINT (about 2.7), so each weight below is a log-likelihood ratio in points, the
 * prior (graph.prior) a log prior-odds term. Confidences follow from the points (rank.ts).
 * Contributions per signal on each benchmark: docs/accuracy.md.
 */
import type { Novelty } from './facts.ts';

// --- Prior: who reported it and what it depends on (rules/graph-prior.ts) ------------------------
/** Without other evidence the service that reported the failure is the best guess. */
export const PRIOR_FAILING = 0.5;
/** Shared by all its dependencies, halving per hop, so map size does not decide; no single dependency gets more than half of PRIOR_FAILING. */
export const PRIOR_DEPENDENCIES = 0.5;
/** A change this credible can be blamed on its own (CHANGE_WEIGHT x 0.2 reaches BLAME_MIN). */
export const CREDIBLE = 0.2;

// --- Log and event anomalies (rules/log-errors.ts) -----------------------------------------------
/** Per distinct message pattern, by level: a warning is a hint, an error is evidence. */
export const LEVEL_WEIGHT = { debug: 0, info: 0, warn: 0.3, error: 1, fatal: 1.5 } as const;
/** What is business as usual is noise: chronic patterns count a tenth, spiking ones half. */
export const NOVELTY_WEIGHT: Record<Novelty, number> = { new: 1, spiking: 0.5, chronic: 0.1 };
/** Lines that carry the trigger's correlationId are on the failing session's own path. */
export const CORRELATED = 1.5;
/**
 * Lines that carry another session's correlationId are about that session (connector 1's EV
 * ending its session while connector 2's StopTransaction fails): half, since a shared root (a meter
 * behind both connectors) would show in both; and they do not date this failure's onset.
 */
export const OTHER_SESSION = 0.5;
/** No chatty service outweighs everything else by volume alone. */
export const LOG_WEIGHT_CAP = 3;
/** A message that names nothing (vocabulary.ts) only says something went wrong there: it counts like a warning. */
export const VAGUE = 0.3;
/**
 * The failing service repeating the trigger's own words, or another service's line about the failing
 * one (it names it), reports the failure; it says little about its cause.
 */
export const RESTATED = 0.25;
/** A candidate whose anomalies follow those of a dependency on the failure's trail is likely a symptom. */
export const SYMPTOM = 0.5;
/**
 * The failing service's own errors are expected whatever the root is: a service that reports a
 * failure logs about it, so they favour it only weakly and count this much, unless a change edited
 * its own code, its files or mapped functions (then they are that change's likely effect). Chosen on the development
 * incidents (0.3 / 0.5 / 0.6 / 0.7 tried): on them the reporter was the root 13 times in 77 and
 * ranked first 33 times, right in 12.
 */
export const REPORTER = 0.5;
/**
 * And half again when among its new lines it reports losing a peer ("charger enable: timeout",
 * silent-peer.ts) or names another candidate ("cannot import name 'Evnex' from 'evnex'"): its
 * errors then are about that peer, and what else it logs follows. On the 157 development triggers
 * such a reporter was the root 0 times in 58, against 29 in 99 otherwise (0.5 and 0.25 tried: the
 * same development ranks, 0.25 cost two generator triggers).
 */
export const LOST_PEER_REPORTER = 0.5;
/**
 * A candidate between the failing service and the root relays: when the new lines of another
 * candidate, its own code unchanged, name a dependency of its own and the rest report lost contact
 * ("Fatal error interacting with Tibber API, HTTP status: 504"), its lines are about that
 * dependency and count this much (lost contact naming nobody may be its own hardware). On the 415
 * read triggers (engine-15) such relays were the root 8 times in 45, against 73 of 297 candidates
 * with new lines of their own (likelihood ratio 0.7); 0.3 / 0.5 / 0.7 gave the same read ranks and
 * the same seeds.
 */
export const RELAY = 0.7;
/**
 * The failing service's own change records (a deploy, config or firmware record, or a commit that
 * edits none of its mapped files or functions) count this much of another candidate's: a failing
 * service is the one updated, restarted and reconfigured around a failure. Measured on the 132
 * development and fresh triggers, a change under 16 h old has a likelihood ratio of 4.2 on the
 * failing service (18 of 25 roots, 19 of 111 others) and 7.9 on any other candidate: 1.15 points
 * against 1.65, a ratio of 0.7 (docs/accuracy.md).
 */
export const REPORTER_CHANGE = 0.7;
/**
 * And half again when the failing service's own lines are about a peer (rules/log-errors.ts
 * reportsPeer: it lost one or names another candidate), unless the failure began right after that
 * change (rules/change-immediate.ts: a client regression loses its server too): on the 335 read
 * independent triggers such a reporter with a change of its own was the root 8 times in 56, against
 * 61 in 112 when its lines were about nothing else. Tried before with fewer cases and not kept;
 * 0.7 and 0.3 tried now: 0.5 and 0.3 gain the same on the independent sets, 0.3 costs the
 * generator's robustness run 2 points. On fresh-16 and fresh-18, scored after it was written, it
 * cost a trigger each (one of them, evcc's own update 27 s before its first error, led to the
 * exemption); over all 375 read triggers it is two top-1 ahead of 1.0 with a better Brier.
 */
export const LOST_PEER_CHANGE = 0.5;

// --- Where the trail starts, who names whom (rules/onset.ts, rules/mentions.ts) -----------------
/** Root causes usually log first and symptoms follow: where the failure's trail starts gets this much. */
export const ONSET_WEIGHT = 1;
/** The event itself names a module as its origin (EVerest error payloads carry origin.module_id): close to a statement. */
export const ORIGIN_WEIGHT = 1.5;
/**
 * Another candidate stated the trigger's error code in its own words before the failing service
 * reported it: the condition arose there and was relayed. Less than a structured origin (it is read
 * from free text), as much as typical domain knowledge.
 */
export const CODE_ORIGIN = 1;
/** Another service's new warning or error names this one ("no reply from powermeter_dc"). */
export const MENTION_WEIGHT = 0.75;

// --- Changes (changes.ts, rules/change-recency.ts) ------------------------------------------------
/** A change to a candidate just before the failure is the classic cause (scaled by credibility). */
export const CHANGE_WEIGHT = 1.5;
/**
 * The trigger states the version the change installed (rules/change-version.ts): the failing station
 * runs it. Scaled by the change's credibility like the change itself; as much as a name in the event.
 */
export const VERSION_QUOTED = 0.75;
/** Words shared by the change and the failure ("timeout" in both): up to this much, from two words. */
export const OVERLAP_WEIGHT = 0.5;
/**
 * The change names a compound identifier the failure states and the station's routine lines do not
 * (rules/change-identifier.ts): a KeyError 'status_description' after an API release that dropped
 * statusDescription, a traceback through dc_charger.py after a release that edited it. Over the 315
 * development and fresh triggers 29 of 188 true changes share one, 11 of 663 others: a likelihood
 * ratio of about 9, two nats. It ties the change to this failure whatever its age, so it is scaled
 * by the change's other credibility (docs-only, predated) but not by recency. Only the trigger and
 * the lines of the failing service and its trail count (a changed service's own later warnings are
 * its change's effect, not the failure's), and not for the failing service's own release records:
 * it names what it sends whatever the root (depot-scheduler's "setVariables" release before
 * CitrineOS's foreign-key failure on SetVariables, citrineos-core#156).
 */
export const IDENTIFIER_WEIGHT = 1.5;
/**
 * A change with nothing that ties it to this failure (no word shared with it, no beginning at the
 * failure's onset, no version the trigger states, no identifier, no mapped function it edits, and
 * its service not on the failure's trail: only recency) counts this much of its findings (rank.ts).
 * On the 415 read independent triggers (engine-15), changes tied to the failure by time alone were
 * the true one 15 times in 225 (7 %), by shared words 60 in 282, by a stated version 66 in 170, by
 * a beginning at the onset 70 in 97. 0.7 (engine-14), 0.5, 0.4 and 0.3 tried: 0.4 gains six read
 * top-1 with none lost; 0.3 gains nothing more and costs the robustness run more right changes.
 * A change on a trail service is exempt: its service failed first and the anomalies lead from it
 * to the failure (without the exemption the robustness run loses 5-8 points of right change: the
 * generator's APN switch before an LTE drop shares no word with it, but the modem fails first).
 */
export const UNTIED_CHANGE = 0.4;
/** A change to a service the map does not know counts this much: nothing says it is on the failure's path. */
export const UNMAPPED_CHANGE = 0.5;
/** Hyperbolic decay: a change is worth half after a day, an eighth after a week (latent bugs surface late). */
export const HALF_LIFE_MS = 86_400_000;
/**
 * The failure began within IMMEDIATE_MS after the change (rules/change-immediate.ts): a broken
 * change shows at the next use of what it changed. Measured on the 174 development and fresh
 * triggers (failing service's first warning, true change against the others): within 2 min 15
 * true to 4 others, 2-10 min 8 to 7, against 103 to 330 overall; 6-24 h before, 26 to 86 (the
 * base rate). As likelihood ratios on the candidates, 19 within 2 min against 3.4 at 6-24 h: about
 * 6x, 1.4 points, where the hyperbolic decay alone gives 1.5x (docs/accuracy.md, engine-12).
 */
export const IMMEDIATE = 1;
export const IMMEDIATE_MS = 10 * 60_000;
/**
 * A candidate whose own new anomalies are all off the failure's trail (they began after the
 * failure was already on its way, or lead nowhere near it): its change shows its effect there,
 * not in this failure, so its change findings count this much. Measured on the 234 development and
 * fresh triggers (engine-12): such a candidate's credible change was the true one 4 times in 35,
 * against 129 in 404 for credible changes overall, a likelihood ratio of about 0.3 (-1 point);
 * 0.5 and 0.3 tried, the same ranks but one, 0.5 kept as the smaller step (docs/accuracy.md, engine-13).
 */
export const OFF_TRAIL_CHANGE = 0.5;
/** Tests, docs and examples do not run on a charger. */
export const DOCS_ONLY = 0.05;
/** The same failure (service and error code) already happened before the change at a similar rate. */
export const PREDATES = 0.1;
/** A failure rate this many times higher after a change than before it means the change may have made it worse. */
export const RATE_JUMP = 10;

// --- Cascades (rules/cascade.ts) -------------------------------------------------------------------
/** An earlier linked trigger diagnosed as caused by this candidate, times that diagnosis's confidence. */
export const CASCADE_WEIGHT = 1.5;

// --- Time and novelty (facts.ts) ----------------------------------------------------------------
/**
 * A seen-before pattern is spiking when its count in the window would happen by chance less than
 * once in a thousand windows at its own baseline rate (a Poisson rate test, not a fixed multiple).
 */
export const SPIKE_P = 1e-3;
/**
 * A pattern seen at least this often before the window, in records that begin with it, has a rate
 * of its own over that span (novelty.ts); fewer sightings are weighed against the nominal baseline.
 * On a station with days of records its first line would be a beginning anyway (gather.ts); 0 and 3,
 * 5, 10 tried on the read benchmarks: 3 keeps fresh-13's easee_cloud in the top three, costs
 * fresh-10 and fresh-11 one top-1 each (docs/accuracy.md, engine-13).
 */
export const RATE_MIN_COUNT = 3;
/** Triggers this long before another can be the start of its cascade (by event time). */
export const CASCADE_MS = 10 * 60_000;
/**
 * A pattern that is not business as usual and first appeared this long before the window began
 * then: its service's trouble started there (the gather reads a failing session back an hour too).
 */
export const EPISODE_MS = 60 * 60_000;
/** Sources stamp lines with their own clocks: an anomaly up to this much after a dependent's still counts as possibly first. */
export const CLOCK_SKEW_MS = 2_000;

// --- From scores to confidences (rank.ts) ---------------------------------------------------------
/**
 * What one point is worth in natural log-odds: a candidate with score s has odds e^s - 1 against a
 * service with no evidence at all (which is no hypothesis: its chance is inside "none of these").
 * Ranks do not depend on it. First fitted on the development incidents (1.25); refitted with
 * UNEXPLAINED on the 335 read independent triggers (engine-14): multi-class Brier 0.563 at 1.25,
 * 0.554 at 1.0, 0.552 at 0.9 (UNEXPLAINED 1.25-2 tried), and the 80-100 % deciles, right 65 and
 * 84 % of the time at 1.25, come within 8 and 11 points. 1.0 was kept as the smaller step: the
 * generator's confident, right reports lose (robustness Brier 0.171 -> 0.192).
 */
export const NATS_PER_POINT = 1.0;
/** "None of these" has the odds of a candidate with this score: confidences stay honest when evidence is thin. */
export const UNEXPLAINED = 1.5;
/** A change is blamed only when its own evidence reaches this; weaker ones stay as evidence. */
export const BLAME_MIN = 0.3;

// --- Silence (rules/silent-peer.ts) -------------------------------------------------------------------
/**
 * A service says it lost contact with a dependency ("No Modbus PDU received from power unit"), and
 * that dependency logged nothing: a device or link that stops answering is silent, so the report is
 * about it. About as strong as a structured origin.
 */
export const SILENT_PEER = 1;
/**
 * The same loss reported again one hop later (a service whose dependency had already lost the
 * silent peer, silent-peer.ts passDownChains): it says the loss reached further, but it is not an
 * independent witness of the peer, so it counts half.
 */
export const SILENT_PEER_RELAYED = 0.5;

// --- What a report is about (rules/subject.ts) ----------------------------------------------------
/**
 * The failing service's error code names one component that has no logs ("STUCK_RELAY",
 * "GFCI_FAULT"): a detector reporting its subject. More than a structured origin (1.5): the
 * component cannot add evidence of its own, so the reporter's statement is all it will ever have,
 * and its detector's own lines count half as its symptom.
 */
export const SUBJECT = 2;
