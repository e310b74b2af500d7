import type { Element } from '@xmldom/xmldom';
import { compileFilter } from './calendarQuery.js';
import { CALDAV_NS, DAV_NS, DavError } from './davError.js';
import { parseDavPath, resourceHref, type DavPath } from './davPaths.js';
import { allProps, readProp, type DavNode, type DavView } from './davProps.js';
import { child, children, is, propNames, propResponse, statusResponse, textOf, xmlDocument, type PropName } from './davXml.js';
import { changedSince, syncTokenOf } from './syncToken.js';
import { icalZone } from './zones.js';
import type { Collection } from './resources.js';

type Builder = ReturnType<typeof xmlDocument>;
type Respond = (node: DavNode, props: (node: DavNode) => PropName[]) => void;

/** Answers a REPORT (calendar-query, calendar-multiget, sync-collection) as a 207 multistatus body. */
export function runReport(view: DavView, path: DavPath, body: Element | null): string {
  if (!body) throw new DavError(400, null, 'a REPORT needs a body saying which report');
  const x = xmlDocument(DAV_NS, 'multistatus');
  const prop = child(body, DAV_NS, 'prop');
  const asked = (fallback: (node: DavNode) => PropName[]) => (node: DavNode) => (prop ? propNames(prop) : fallback(node));
  const respond: Respond = (node, props) => x.root.appendChild(propResponse(x, view.href(node), props(node), (p) => readProp(view, node, p, x)));

  if (is(body, CALDAV_NS, 'calendar-multiget')) multiget(view, body, x, respond, asked(allProps));
  else {
    const collection = 'collectionId' in path ? view.collection(path.collectionId) : undefined;
    if (!collection) throw new DavError(403, 'supported-report', 'this report is answered on a calendar collection');
    const all = members(view, collection, path);
    if (is(body, CALDAV_NS, 'calendar-query')) {
      const matches = compileFilter(child(body, CALDAV_NS, 'filter'), icalZone(view.zone));
      for (const node of all) if (matches(view.component(node.resource))) respond(node, asked(allProps));
    } else if (is(body, DAV_NS, 'sync-collection')) {
      syncCollection(view, body, collection, all, x, respond, asked(() => [{ ns: DAV_NS, name: 'getetag' }]));
    } else {
      throw new DavError(403, 'supported-report', `the report <${body.localName}> is not supported: calendar-query, calendar-multiget and sync-collection are`);
    }
  }
  return x.serialize();
}

/** calendar-multiget: each href asked for, or a 404 for one that is not there. */
function multiget(view: DavView, body: Element, x: Builder, respond: Respond, props: (node: DavNode) => PropName[]) {
  for (const hrefEl of children(body).filter((c) => is(c, DAV_NS, 'href'))) {
    const href = textOf(hrefEl);
    const target = parseDavPath(href);
    const owner = target?.kind === 'resource' ? view.collection(target.collectionId) : undefined;
    const resource = owner && target?.kind === 'resource' ? view.resources(owner.id).get(target.name) : undefined;
    if (owner && resource) respond({ kind: 'resource', collection: owner, resource }, props);
    else x.root.appendChild(statusResponse(x, href, '404 Not Found'));
  }
}

/** RFC 6578: with no token every member; with one, the members changed since and the ones gone. */
function syncCollection(view: DavView, body: Element, collection: Collection, all: ResourceNode[], x: Builder, respond: Respond, props: (node: DavNode) => PropName[]) {
  const level = textOf(child(body, DAV_NS, 'sync-level')) || '1';
  if (level !== '1' && level !== 'infinite') throw new DavError(400, null, 'sync-level must be 1 or infinite');
  const token = textOf(child(body, DAV_NS, 'sync-token'));
  if (!token) {
    for (const node of all) respond(node, props);
    x.root.appendChild(x.d('sync-token', view.syncToken));
    return;
  }
  const changed = changedSince(view.store, token);
  const byId = new Map(all.map((node) => [node.resource.master.id, node]));
  const reported = new Set<string>();
  for (const node of all) {
    if (!changed.everything && !changed.masters.has(node.resource.master.id)) continue;
    respond(node, props);
    reported.add(node.resource.name);
  }
  for (const id of changed.masters) {
    if (byId.has(id)) continue;
    const name = changed.names.get(id) ?? `${id}.ics`;
    // Gone, or moved to another calendar: either way no longer a member here (RFC 6578 3.5.2).
    if (!reported.has(name)) x.root.appendChild(statusResponse(x, resourceHref(collection.id, name), '404 Not Found'));
  }
  x.root.appendChild(x.d('sync-token', syncTokenOf(view.store.storeId, changed.revision)));
}

type ResourceNode = Extract<DavNode, { kind: 'resource' }>;

function members(view: DavView, collection: Collection, path: DavPath): ResourceNode[] {
  const resources = view.resources(collection.id);
  if (path.kind === 'resource') {
    const one = resources.get(path.name);
    return one ? [{ kind: 'resource', collection, resource: one }] : [];
  }
  return [...resources.values()].map((resource) => ({ kind: 'resource', collection, resource }));
}
