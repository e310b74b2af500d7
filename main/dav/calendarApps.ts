import { Router } from 'express';
import type { Logger } from '../log.js';
import type { TokenAuth } from '../server/auth.js';
import type { Change, Store } from '../store/types.js';
import { davRoutes } from './davRoutes.js';
import { feedRoutes } from './feed.js';
import { settingsRoutes } from './settingsRoutes.js';

export interface CalendarAppsOptions {
  store: Store;
  /** Called per request (the token behind it may change with the calendar's key). */
  auth: TokenAuth;
  log: Logger;
  /** Announces changes exactly as REST writes are announced: to pages, to desks, to the next sync. */
  onChanges: (changes: Change[]) => void;
  /** The address other devices reach this desk at, for the feed URLs the page shows. */
  publicBaseUrl?: () => string | null | undefined;
}

/**
 * The office calendar for calendar apps: CalDAV (/.well-known/caldav, /dav/…, PROPFIND /), the ICS
 * feed (/feed/…) and the page's calendar settings and import (/api/v1/calendar-settings, /api/v1/import).
 * Each checks its own credentials and reads its own bodies, so it goes before the JSON-only REST API.
 */
export function calendarAppRoutes(options: CalendarAppsOptions): Router {
  const router = Router();
  router.use(settingsRoutes(options));
  router.use(feedRoutes(options));
  router.use(davRoutes(options));
  return router;
}
