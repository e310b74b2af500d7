import { createHmac, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { TokenAuth } from '../server/auth.js';
import type { Store } from '../store/types.js';
import { calendarZone, readSettings } from './calendarSettings.js';
import { collectionsOf, DEFAULT_COLLECTION, resourcesByCollection } from './resources.js';
import { calendarText } from './toIcal.js';

/** The feed URLs of a calendar: one for all its events, one per calendar, one for events in none. */
export interface FeedUrls {
  all: string;
  none: string;
  calendars: { id: string; name: string; url: string }[];
}

const ALL = 'all';
const NONE = 'none';
const scopeOfCalendar = (id: string) => `cal-${id}`;

/**
 * A feed URL's secret: a MAC of its scope under the feed secret (which derives from the calendar's
 * token, so a key change revokes it) and the settings' feed generation (so "new feed address"
 * revokes it). Each scope has its own, so one calendar's URL tells nothing about another's.
 */
function feedMac(auth: TokenAuth, generation: number, scope: string): string {
  return createHmac('sha256', auth.feedSecret()).update(`lan-scheduler/feed/${generation}/${scope}`).digest('base64url').slice(0, 32);
}

const feedPath = (auth: TokenAuth, generation: number, scope: string) => `/feed/${feedMac(auth, generation, scope)}/${scope}.ics`;

/** The feed URLs under a base URL such as https://192.168.1.20:3210 (what the host prints, what the page shows). */
export function feedUrls(baseUrl: string, auth: TokenAuth, store: Store): FeedUrls {
  const base = baseUrl.replace(/\/+$/, '');
  const generation = readSettings(store).feedGeneration;
  const url = (scope: string) => base + feedPath(auth, generation, scope);
  return {
    all: url(ALL),
    none: url(NONE),
    calendars: collectionsOf(store)
      .filter((c) => c.calendarId)
      .map((c) => ({ id: c.id, name: c.name, url: url(scopeOfCalendar(c.id)) })),
  };
}

/** GET /feed/SECRET/SCOPE.ics: the read-only iCalendar feed for subscribers (Outlook, Apple Calendar, Thunderbird). */
export function feedRoutes(options: { store: Store; auth: TokenAuth }): Router {
  const { store, auth } = options;
  const router = Router();
  router.get('/feed/:mac/:file', (req, res) => {
    const scope = /^(.{1,200})\.ics$/.exec(req.params.file)?.[1] ?? '';
    const generation = readSettings(store).feedGeneration;
    const given = Buffer.from(req.params.mac);
    const good = Buffer.from(feedMac(auth, generation, scope));
    const collections = collectionsOf(store);
    const wanted =
      scope === ALL ? collections : scope === NONE ? collections.filter((c) => c.id === DEFAULT_COLLECTION) : collections.filter((c) => c.calendarId && scopeOfCalendar(c.id) === scope);
    // A wrong or revoked secret looks exactly like a feed that does not exist.
    if (!scope || given.length !== good.length || !timingSafeEqual(given, good) || wanted.length === 0) {
      return void res.status(404).type('text/plain; charset=utf-8').send('No such feed. Ask for the current feed address in the LAN Scheduler page.\n');
    }
    const zone = calendarZone(store);
    const etag = `"${store.storeId}-${store.revision()}-${generation}-${zone}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (req.get('If-None-Match') === etag) return void res.status(304).end();
    const name = scope === ALL ? 'Office calendar' : scope === NONE ? 'Office calendar (no calendar)' : wanted[0]!.name;
    const byCollection = resourcesByCollection(store);
    const resources = wanted.flatMap((c) => [...(byCollection.get(c.id)?.values() ?? [])]);
    const text = calendarText(resources, {
      zone,
      alarms: false,
      decorate(vcalendar) {
        vcalendar.addPropertyWithValue('name', name);
        vcalendar.addPropertyWithValue('x-wr-calname', name);
        vcalendar.addPropertyWithValue('x-wr-timezone', zone);
        vcalendar.addPropertyWithValue('refresh-interval', 'PT15M').setParameter('value', 'DURATION');
        vcalendar.addPropertyWithValue('x-published-ttl', 'PT15M');
      },
    });
    res.type('text/calendar; charset=utf-8').send(text);
  });
  return router;
}
