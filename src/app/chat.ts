import { createRateLimiter } from '../auth/rate-limit.ts';
import { loadJwtSecret } from '../auth/jwt-secret.ts';
import { createSessions } from '../auth/session.ts';
import type { Database } from 'bun:sqlite';
import type { Config } from '../config/config.ts';
import { type Clock, type Scheduler, systemScheduler } from '../core/clock.ts';
import type { LlmAdapter } from '../core/llm.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ChangeSource } from '../core/ports.ts';
import type { SystemMapSource } from '../map/map-source.ts';
import type { AnalysisPipeline } from '../pipeline/analysis.ts';
import type { ReportService } from '../pipeline/reports.ts';
import type { IngestQueries } from '../store/ingest-queries.ts';
import { createRedactor, sensitiveKeyTest } from '../deliver/redact.ts';
import { createFeedbackIntake } from '../learn/feedback-intake.ts';
import { createLearning, type Learning } from '../learn/learning-service.ts';
import { createChatStore } from '../store/chat-store.ts';
import { createFeedbackStore } from '../store/feedback-store.ts';
import { createLearnStore } from '../store/learn-store.ts';
import { createUserStore } from '../store/user-store.ts';
import { createLlmAnswerer } from '../ui/answer/llm-answer.ts';
import { type ChatUi, createChatUi } from '../ui/chat-ui.ts';

export interface ChatFeature extends ChatUi {
  learning: Learning;
}

/**
 * Builds the chat UI with its stores, sessions, question answering and learning from feedback, and
 * plugs learnt adjustments into the analysis of new triggers. Called from app.ts only.
 */
export function createChatFeature(
  ctx: {
    config: Config;
    db: Database;
    clock: Clock;
    logger: Logger;
    metrics: Metrics;
    maps: SystemMapSource;
    queries: IngestQueries;
    changes: ChangeSource;
    reports: ReportService;
    analysis: AnalysisPipeline;
    stationId: string;
    /** The LLM adapter, when one is configured (app.ts builds it). */
    llm: LlmAdapter | null;
  },
  scheduler: Scheduler = systemScheduler,
): ChatFeature {
  const { config, db, clock, metrics } = ctx;
  const logger = ctx.logger.child('ui');
  const users = createUserStore(db);
  const feedback = createFeedbackStore(db);
  const secret = loadJwtSecret({
    configured: config.TRACEPULSE_JWT_SECRET,
    dataDir: config.TRACEPULSE_DATA_DIR,
    logger,
  });
  const sessions = createSessions({
    secret,
    users,
    clock,
    ttlMs: config.TRACEPULSE_SESSION_HOURS * 3_600_000,
    secureCookie: config.TRACEPULSE_PUBLIC_URL?.startsWith('https:') ?? false,
  });
  const learning = createLearning({
    feedback,
    store: createLearnStore(db),
    rankStored: (eventId, adjustments) =>
      ctx.analysis.analyzeStored(eventId, { adjustments })?.hypotheses ?? null,
    clock,
    logger: ctx.logger.child('learn'),
    metrics,
    enabled: config.TRACEPULSE_LEARN,
  });
  if (config.TRACEPULSE_LEARN)
    ctx.analysis.useAdjustments((event) => learning.adjustmentsFor(event.eventType, event.errorCode));
  metrics.describe(
    'tracepulse_learn_gate_total',
    'Learning runs by gate outcome (accepted, refused, failed)',
  );
  metrics.describe(
    'tracepulse_ui_questions_total',
    'Questions answered in the chat, by who answered and intent',
  );
  metrics.describe('tracepulse_ui_logins_total', 'UI login attempts by outcome');

  const redact = createRedactor(config.TRACEPULSE_REDACT_FIELDS);
  const isSensitive = sensitiveKeyTest(config.TRACEPULSE_REDACT_FIELDS);
  const llmOn = !!ctx.llm;
  const llm = ctx.llm
    ? createLlmAnswerer(
        ctx.llm,
        {
          timeoutMs: config.TRACEPULSE_ANSWER_TIMEOUT_MS,
          scheduler,
          // As connected mode does: the event's values under redacted keys are blanked wherever quoted.
          redact: (text, details) =>
            redact(
              text,
              Object.entries(details).flatMap(([k, v]) => (isSensitive(k) ? [String(v)] : [])),
            ),
        },
        (reason) => {
          metrics.inc('tracepulse_ui_llm_fallbacks_total');
          logger.debug('chat answer fell back to local data', { reason });
        },
      )
    : null;

  // Conversations follow the retention of what they talk about; feedback is kept (it is the training set).
  const chat = createChatStore(db);
  const pruneChat = () => {
    try {
      const n = chat.deleteOlderThan(clock.now() - config.TRACEPULSE_RETENTION_DAYS * 86_400_000);
      if (n) logger.info('old chat messages deleted', { messages: n });
    } catch (err) {
      logger.error('chat retention failed', { error: String(err) });
    }
  };
  const pruneTimer = scheduler.every(3_600_000, pruneChat);

  const ui = createChatUi({
    reports: ctx.reports,
    queries: ctx.queries,
    changes: ctx.changes,
    maps: ctx.maps,
    users,
    sessions,
    chat,
    feedback,
    intake: createFeedbackIntake({
      feedback,
      learning,
      getReport: (id) => ctx.reports.get(id),
      graph: () => ctx.maps.current().graph,
      clock,
    }),
    learning,
    llm,
    loginLimiter: createRateLimiter({ clock, limit: config.TRACEPULSE_LOGIN_ATTEMPTS_PER_MIN }),
    clock,
    logger,
    metrics,
    stationId: ctx.stationId,
    changeLookbackMs: config.TRACEPULSE_CHANGE_LOOKBACK_DAYS * 86_400_000,
    apiKeys: config.TRACEPULSE_API_KEYS,
  });
  logger.info('chat UI ready', {
    users: users.count(),
    llm: llmOn ? 'on' : 'off',
    learning: learning.current().version,
  });
  return {
    ...ui,
    learning,
    stop: () => {
      pruneTimer.cancel();
      ui.stop();
    },
  };
}
