import type ICAL from 'ical.js';
import type { Store } from '../store/types.js';
import { calendarZone } from './calendarSettings.js';
import { CALDAV_NS, DAV_NS } from './davError.js';
import { collectionHref, DAV_ROOT, HOME, PRINCIPAL, resourceHref } from './davPaths.js';
import { APPLE_NS, CS_NS, key, type PropName, type PropValue, type XmlBuilder } from './davXml.js';
import { collectionsOf, etagOf, resourcesByCollection, type Collection, type NamedResource } from './resources.js';
import { syncTokenOf } from './syncToken.js';
import { calendarComponent } from './toIcal.js';
import { vtimezone } from './zones.js';

/** The biggest calendar resource a client may PUT (a series with a few hundred changed occurrences). */
export const MAX_RESOURCE_BYTES = 1024 * 1024;

export type DavNode =
  | { kind: 'root' | 'principal' | 'home' }
  | { kind: 'collection'; collection: Collection }
  | { kind: 'resource'; collection: Collection; resource: NamedResource };

/** One consistent reading of the store for one request: the zone, the collections, the resources. */
export function davView(store: Store) {
  const zone = calendarZone(store);
  const revision = store.revision();
  const collections = collectionsOf(store);
  let members: Map<string, Map<string, NamedResource>> | undefined;
  const components = new WeakMap<NamedResource, ICAL.Component>();
  const texts = new WeakMap<NamedResource, string>();
  const view = {
    store,
    zone,
    collections,
    syncToken: syncTokenOf(store.storeId, revision),
    ctag: `"${store.storeId}-${revision}"`,
    collection: (id: string) => collections.find((c) => c.id === id),
    /** A collection's resources by name; every collection's are read together, once per view. */
    resources(collectionId: string): Map<string, NamedResource> {
      members ??= resourcesByCollection(store);
      return members.get(collectionId) ?? new Map();
    },
    component(resource: NamedResource) {
      let found = components.get(resource);
      if (!found) components.set(resource, (found = calendarComponent([resource], { zone, alarms: true })));
      return found;
    },
    text(resource: NamedResource) {
      let text = texts.get(resource);
      if (text === undefined) texts.set(resource, (text = view.component(resource).toString() + '\r\n'));
      return text;
    },
    etag: (resource: NamedResource) => etagOf(resource, zone),
    href(node: DavNode): string {
      switch (node.kind) {
        case 'root':
          return DAV_ROOT;
        case 'principal':
          return PRINCIPAL;
        case 'home':
          return HOME;
        case 'collection':
          return collectionHref(node.collection.id);
        case 'resource':
          return resourceHref(node.collection.id, node.resource.name);
      }
    },
    /** The members a Depth: 1 PROPFIND lists under a node. */
    children(node: DavNode): DavNode[] {
      if (node.kind === 'root') return [{ kind: 'principal' }, { kind: 'home' }];
      if (node.kind === 'home') return collections.map((collection) => ({ kind: 'collection', collection }));
      if (node.kind === 'collection') return [...view.resources(node.collection.id).values()].map((resource) => ({ kind: 'resource', collection: node.collection, resource }));
      return [];
    },
  };
  return view;
}

export type DavView = ReturnType<typeof davView>;

const P = (ns: string, name: string): PropName => ({ ns, name });
const COMMON = [P(DAV_NS, 'resourcetype'), P(DAV_NS, 'displayname'), P(DAV_NS, 'current-user-principal')];
const ALL: Record<DavNode['kind'], PropName[]> = {
  root: [...COMMON, P(CALDAV_NS, 'calendar-home-set')],
  principal: [...COMMON, P(DAV_NS, 'principal-URL'), P(CALDAV_NS, 'calendar-home-set')],
  home: COMMON,
  collection: [...COMMON, P(DAV_NS, 'getetag'), P(CS_NS, 'getctag'), P(DAV_NS, 'sync-token'), P(CALDAV_NS, 'supported-calendar-component-set'), P(APPLE_NS, 'calendar-color')],
  resource: [P(DAV_NS, 'resourcetype'), P(DAV_NS, 'getetag'), P(DAV_NS, 'getcontenttype'), P(DAV_NS, 'getcontentlength')],
};

/** The properties `allprop` (or an empty PROPFIND) answers for a node. */
export const allProps = (node: DavNode) => ALL[node.kind];

/** A property's value on a node, or undefined when the node has no such property (a 404 propstat). */
export function readProp(view: DavView, node: DavNode, p: PropName, x: XmlBuilder): PropValue | undefined {
  const href = (to: string) => [x.d('href', to)];
  const privileges = (names: string[]) => names.map((n) => x.d('privilege', [x.d(n)]));
  switch (key(p)) {
    case key(P(DAV_NS, 'current-user-principal')):
      return href(PRINCIPAL);
    case key(P(DAV_NS, 'principal-URL')):
      return node.kind === 'principal' ? href(PRINCIPAL) : undefined;
    case key(P(CALDAV_NS, 'calendar-home-set')):
      return node.kind === 'principal' || node.kind === 'root' ? href(HOME) : undefined;
    case key(P(DAV_NS, 'owner')):
      return node.kind === 'collection' || node.kind === 'resource' ? href(PRINCIPAL) : undefined;
    case key(P(DAV_NS, 'principal-collection-set')):
      return href(DAV_ROOT);
    case key(P(DAV_NS, 'resourcetype')):
      if (node.kind === 'resource') return '';
      if (node.kind === 'principal') return [x.d('collection'), x.d('principal')];
      if (node.kind === 'collection') return [x.d('collection'), x.el(CALDAV_NS, 'calendar')];
      return [x.d('collection')];
    case key(P(DAV_NS, 'displayname')):
      if (node.kind === 'collection') return node.collection.name;
      return node.kind === 'resource' ? undefined : node.kind === 'home' ? 'Calendars' : 'LAN Scheduler';
    case key(P(DAV_NS, 'current-user-privilege-set')):
      if (node.kind === 'collection') return privileges(['read', 'write', 'write-content', 'bind', 'unbind']);
      return node.kind === 'resource' ? privileges(['read', 'write', 'write-content']) : privileges(['read']);
    case key(P(DAV_NS, 'supported-report-set')):
      if (node.kind !== 'collection' && node.kind !== 'resource') return undefined;
      return [P(CALDAV_NS, 'calendar-query'), P(CALDAV_NS, 'calendar-multiget'), P(DAV_NS, 'sync-collection')].map((r) =>
        x.d('supported-report', [x.d('report', [x.el(r.ns, r.name)])]),
      );
    default:
      return node.kind === 'collection' ? collectionProp(view, node.collection, p, x) : node.kind === 'resource' ? resourceProp(view, node.resource, p, x) : undefined;
  }
}

function collectionProp(view: DavView, collection: Collection, p: PropName, x: XmlBuilder): PropValue | undefined {
  switch (key(p)) {
    case key(P(DAV_NS, 'getetag')):
    case key(P(CS_NS, 'getctag')):
      return view.ctag;
    case key(P(DAV_NS, 'sync-token')):
      return view.syncToken;
    case key(P(CALDAV_NS, 'supported-calendar-component-set')):
      return [x.el(CALDAV_NS, 'comp', null, { name: 'VEVENT' })];
    case key(P(CALDAV_NS, 'supported-calendar-data')):
      return [x.el(CALDAV_NS, 'calendar-data', null, { 'content-type': 'text/calendar', version: '2.0' })];
    case key(P(CALDAV_NS, 'max-resource-size')):
      return String(MAX_RESOURCE_BYTES);
    case key(P(CALDAV_NS, 'calendar-timezone')):
      return `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//LAN Scheduler//EN\r\n${vtimezone(view.zone).toString()}\r\nEND:VCALENDAR\r\n`;
    case key(P(CALDAV_NS, 'calendar-description')):
      return collection.description;
    case key(P(APPLE_NS, 'calendar-color')):
      return collection.color && /^#[0-9a-fA-F]{6}$/.test(collection.color) ? `${collection.color}FF` : collection.color;
    case key(P(DAV_NS, 'getcontenttype')):
      return 'text/calendar; charset=utf-8';
    default:
      return undefined;
  }
}

function resourceProp(view: DavView, resource: NamedResource, p: PropName, _x: XmlBuilder): PropValue | undefined {
  switch (key(p)) {
    case key(P(DAV_NS, 'getetag')):
      return view.etag(resource);
    case key(P(DAV_NS, 'getcontenttype')):
      return 'text/calendar; charset=utf-8; component=VEVENT';
    case key(P(DAV_NS, 'getcontentlength')):
      return String(Buffer.byteLength(view.text(resource)));
    case key(P(CALDAV_NS, 'calendar-data')):
      return view.text(resource);
    default:
      return undefined;
  }
}
