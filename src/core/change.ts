import { z } from 'zod';
import { timestampSchema } from './time.ts';

export const changeKinds = ['deploy', 'config', 'firmware', 'commit'] as const;
export type ChangeKind = (typeof changeKinds)[number];

/** Body of POST /api/changes: a deploy, config push, firmware flash or commit record. */
export const changeInputSchema = z.object({
  id: z.string().trim().min(1).max(200),
  service: z.string().trim().min(1).max(200),
  kind: z.enum(changeKinds),
  timestamp: timestampSchema,
  summary: z.string().min(1).max(4000),
  files: z.array(z.string().min(1).max(1000)).max(5000).optional(),
  diff: z.string().max(2_000_000).optional(),
  author: z.string().max(200).optional(),
  url: z.string().max(2000).optional(),
});

/** A change as evidence: either a change record or a GitHub commit (sha set). */
export interface Change {
  id: string;
  /** Commit sha when the change is a commit from GitHub. */
  sha: string | null;
  service: string | null;
  kind: ChangeKind;
  timestamp: number;
  summary: string;
  files: string[];
  diff: string | null;
  author: string | null;
  url: string | null;
  repo: string | null;
}
