/** UI roles, weakest first: viewers read, engineers ask and give feedback, admins manage users and the map. */
export const roles = ['viewer', 'engineer', 'admin'] as const;
export type Role = (typeof roles)[number];

export const isRole = (s: string): s is Role => (roles as readonly string[]).includes(s);

/** True when `role` has at least the rights of `needed`. */
export const atLeast = (role: Role, needed: Role): boolean => roles.indexOf(role) >= roles.indexOf(needed);
