import type { RateLimiter } from '../auth/rate-limit.ts';
import type { Session, Sessions } from '../auth/session.ts';
import type { Change } from '../core/change.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ChangeSource } from '../core/ports.ts';
import type { FeedbackIntake } from '../learn/feedback-intake.ts';
import type { Learning } from '../learn/learning-service.ts';
import type { SystemMapSource } from '../map/map-source.ts';
import type { ChatStore } from '../store/chat-store.ts';
import type { FeedbackStore } from '../store/feedback-store.ts';
import type { IngestQueries } from '../store/ingest-queries.ts';
import type { UserStore } from '../store/user-store.ts';
import type { LlmAnswerer } from './answer/llm-answer.ts';
import type { ReportReader } from './report-reader.ts';

/** Everything the chat UI reads and writes; app.ts builds it. */
export interface UiDeps {
  reports: ReportReader;
  queries: Pick<IngestQueries, 'event' | 'events' | 'logs'>;
  changes: ChangeSource | null;
  /** The map in force; `put` is the PUT /api/system-map path (validation, stored), used by "Add to map". */
  maps: Pick<SystemMapSource, 'current' | 'put'>;
  users: UserStore;
  sessions: Sessions;
  chat: ChatStore;
  feedback: FeedbackStore;
  intake: FeedbackIntake;
  learning: Learning;
  /** Set when an LLM is configured (OPENAI_* settings). */
  llm: LlmAnswerer | null;
  loginLimiter: RateLimiter;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  stationId: string;
  changeLookbackMs: number;
  apiKeys: string[];
}

export type UiEnv = { Variables: { session: Session } };

/** Changes in [since, until] from the change source, or none when there is no source. */
export const changesBetween = (deps: Pick<UiDeps, 'changes'>, since: number, until: number): Change[] =>
  deps.changes ? deps.changes.changesBetween(since, until) : [];
