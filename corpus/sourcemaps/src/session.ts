// Sessions and subscribers: two more leak shapes.
//
// - `sessions`: a module-level Map that gets one new Session (a class
//   instance) per request to /session…, never deleted.
// - `listeners`: a module-level array of closures; `subscribe` creates one
//   per request to /subscribe…, each capturing that request's data.

import type { IncomingMessage } from 'node:http';

/** The request data a session or a listener keeps. */
export interface RequestData {
  readonly seq: number;
  readonly path: string;
  readonly agent: string;
}

export type Listener = (event: string) => string;

export enum SessionState {
  Open,
  Idle,
  Closed,
}

/**
 * What every tracked record carries. The parameter properties compile to
 * field declarations and assignments.
 */
abstract class Tracked {
  constructor(public readonly id: string, protected readonly data: RequestData) {}
}

// No constructor of its own: V8 places a class that has one at `constructor`
// rather than at `class`, and the marker is on the `class` line.
export class Session extends Tracked { // @leak-site: session-class
  public state: SessionState = SessionState.Open;
  public readonly startedAt: number = Date.now();
  public readonly token: string = 'y'.repeat(64) + this.id;

  describe(): string {
    return `session ${this.id} for ${this.data.path} (${SessionState[this.state]})`;
  }
}

/** Never deleted from: the second leak. */
const sessions: Map<string, Session> = new Map();

/** Never unsubscribed: the third leak. */
const listeners: Listener[] = [];

export function requestData(req: IncomingMessage, seq: number): RequestData {
  return { seq, path: req.url ?? '/', agent: req.headers['user-agent'] ?? '-' };
}

export function openSession(data: RequestData): Session {
  const session = new Session(`s${data.seq}`, data);
  sessions.set(session.id, session);
  return session;
}

export function subscribe(data: RequestData): number {
  const payload: string = 'z'.repeat(80) + data.seq;
  const onEvent: Listener = (event: string): string => `${event} for ${data.path}: ${payload}`; // @leak-site: subscribe-closure
  listeners.push(onEvent);
  return listeners.length;
}
