import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import type { Logger } from '../log.js';
import type { TokenAuth } from '../server/auth.js';
import { errorBody, HttpError } from '../server/httpError.js';
import { errorAnswer } from '../server/storeErrors.js';
import type { Change, Store } from '../store/types.js';
import { calendarZone, readSettings, rotateFeedAddress, setCalendarZone } from './calendarSettings.js';
import { feedUrls } from './feed.js';
import { importIcs } from './importIcs.js';
import { zoneNames } from './zones.js';

export interface SettingsRoutesOptions {
  store: Store;
  auth: TokenAuth;
  log: Logger;
  onChanges: (changes: Change[]) => void;
  /** The address other devices reach this desk at (https://LAN-ADDRESS:PORT); default: the one the page used. */
  publicBaseUrl?: () => string | null | undefined;
}

/** The biggest .ics file the page or the CLI may import: years of a busy calendar. */
export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;
export const SETTINGS_PATH = '/api/v1/calendar-settings';
export const IMPORT_PATH = '/api/v1/import';

/**
 * The page's calendar settings, behind the token like REST: the time zone, the feed URLs and a new
 * feed address, and importing an .ics file.
 */
export function settingsRoutes(options: SettingsRoutesOptions): Router {
  const { store, auth, log, onChanges } = options;
  const router = Router();
  const requireToken: RequestHandler = (req, _res, next) => {
    const token = req.get('Remote-Token');
    if (!token) throw new HttpError(401, 'the Remote-Token header is missing');
    if (!auth.checkToken(token)) throw new HttpError(403, 'the Remote-Token is not valid for this calendar');
    next();
  };
  const baseOf = (req: Request) => options.publicBaseUrl?.() || `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  const answer = (req: Request) => ({
    timeZone: calendarZone(store),
    timeZoneStored: readSettings(store).timeZone !== null,
    zones: zoneNames(),
    feeds: feedUrls(baseOf(req), auth, store),
    caldav: { url: `${baseOf(req)}/`, userName: 'any name', password: 'the access token' },
  });

  router.get(SETTINGS_PATH, requireToken, (req, res) => void res.json(answer(req)));
  router.put(SETTINGS_PATH, requireToken, express.json({ limit: 4096 }), async (req, res) => {
    const body = req.body as { timeZone?: unknown } | undefined;
    await setCalendarZone(store, body?.timeZone, onChanges);
    res.json(answer(req));
  });
  router.post(`${SETTINGS_PATH}/new-feed-address`, requireToken, async (req, res) => {
    await rotateFeedAddress(store, onChanges);
    res.json(answer(req));
  });
  router.post(IMPORT_PATH, requireToken, express.text({ type: () => true, limit: MAX_IMPORT_BYTES }), async (req, res) => {
    const calendar = req.query.calendar;
    if (calendar !== undefined && typeof calendar !== 'string') throw new HttpError(400, 'calendar must be one calendar id');
    if (typeof req.body !== 'string' || !req.body.trim()) throw new HttpError(400, 'send the .ics file as the body (text/calendar)');
    res.json(await importIcs({ store, text: req.body, calendarId: calendar || null, onChanges }));
  });

  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const [status, message] = errorAnswer(err);
    if (status === 500) log.error(`calendar settings request failed: ${err?.stack ?? err}`);
    res.status(status).json(errorBody(message));
  };
  router.use(onError);
  return router;
}
