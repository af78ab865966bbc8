import type { Role } from '../core/roles.ts';

export { atLeast, isRole, type Role, roles } from '../core/roles.ts';

/** Who is acting: a logged-in user, or a machine that presented an API key (or none, when no keys are set). */
export interface Actor {
  name: string;
  role: Role;
  via: 'session' | 'api-key';
}
