import { HttpError } from '../server/httpError.js';

export const DAV_NS = 'DAV:';
export const CALDAV_NS = 'urn:ietf:params:xml:ns:caldav';

/** A precondition element of RFC 4791 / 4918 / 6578 that a DAV error body names. */
export type Precondition =
  | 'valid-calendar-data'
  | 'valid-calendar-object-resource'
  | 'supported-calendar-component'
  | 'supported-calendar-data'
  | 'supported-filter'
  | 'supported-collation'
  | 'no-uid-conflict'
  | 'valid-sync-token'
  | 'supported-report'
  | 'max-resource-size';

const IN_DAV = new Set<Precondition>(['valid-sync-token', 'supported-report']);

/** An error a CalDAV client gets as status plus `<D:error>` naming the precondition, with a message for people. */
export class DavError extends HttpError {
  constructor(
    status: number,
    readonly precondition: Precondition | null,
    message: string,
  ) {
    super(status, message);
  }

  get namespace(): string {
    return this.precondition && IN_DAV.has(this.precondition) ? DAV_NS : CALDAV_NS;
  }
}
