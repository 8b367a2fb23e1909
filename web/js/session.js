// Who is signed in, and what their role lets the UI offer. The server checks every request
// itself; hiding what a role may not do only keeps people from meeting 403s.

export const session = { user: null };

const RANK = { viewer: 1, operator: 2, admin: 3 };

// What each control needs, after the permission table of docs/api.md.
const NEEDS = {
  run: 'operator', // start runs
  stop: 'operator', // stop runs
  schedule: 'operator', // PATCH schedule
  activate: 'operator', // PATCH active
  pauseQueue: 'operator', // pause and resume queues
  create: 'admin',
  edit: 'admin',
  delete: 'admin',
  deleteRun: 'admin',
  audit: 'admin',
};

export function can(action) {
  const role = session.user && session.user.role;
  return !!role && RANK[role] >= RANK[NEEDS[action]];
}
