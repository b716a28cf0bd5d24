// The audit trail: every request handled by the default route is recorded
// here "for compliance" and nothing ever trims it — a module-level array
// that grows by one plain object literal (a few hundred bytes) per request.

import type { IncomingMessage } from 'node:http';

/** What kind of event an audit entry records. */
export enum AuditKind {
  Request = 'request',
  Session = 'session',
  Subscribe = 'subscribe',
}

/** One entry of the audit trail (a plain object, not a class instance). */
export interface AuditEntry {
  readonly at: number;
  readonly kind: AuditKind;
  readonly path: string;
  readonly note: string;
}

type Trail = AuditEntry[];

/** Never trimmed: the leak. */
const auditTrail: Trail = [];

let seq: number = 0;

/**
 * Records one request in the audit trail and returns the number of entries.
 */
export function recordAudit(req: IncomingMessage, kind: AuditKind = AuditKind.Request): number {
  seq += 1;
  const entry: AuditEntry = { at: Date.now(), kind, path: req.url ?? '/', note: 'x'.repeat(100) + seq }; // @leak-site: audit-entry
  auditTrail.push(entry);
  return auditTrail.length;
}
