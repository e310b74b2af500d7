import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import type { Logger } from '../log.js';
import type { TokenAuth } from '../server/auth.js';
import { errorAnswer } from '../server/storeErrors.js';
import type { Change, Store } from '../store/types.js';
import { DAV_NS, DavError } from './davError.js';
import { DAV_ROOT, parseDavPath, type DavPath } from './davPaths.js';
import { allProps, davView, MAX_RESOURCE_BYTES, readProp, type DavNode, type DavView } from './davProps.js';
import { runReport } from './davReports.js';
import { checkConditions, deleteResource, putResource } from './davWrites.js';
import { child, children, errorXml, is, parseXml, propNames, propResponse, xmlDocument } from './davXml.js';
import { calendarText } from './toIcal.js';

export interface DavOptions {
  store: Store;
  auth: TokenAuth;
  log: Logger;
  /** Announces what a CalDAV write changed, exactly as REST writes are announced (pages, desks). */
  onChanges: (changes: Change[]) => void;
}

const ALLOW = 'OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT';
const REALM = 'Basic realm="LAN Scheduler", charset="UTF-8"';

/** Basic auth: any user name, the calendar's access token as the password; checked per request (the token may change). */
function checkBasic(auth: TokenAuth, req: Request) {
  const header = req.get('Authorization') ?? '';
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const password = decoded.slice(decoded.indexOf(':') + 1);
  if (!m || !decoded.includes(':') || !auth.checkToken(password)) {
    throw new DavError(401, null, m ? 'the password is not this calendar\'s access token' : 'sign in: any user name, the calendar\'s access token as the password');
  }
}

const pathOf = (req: Request) => (req.originalUrl.split('?')[0] ?? '/');
const bodyText = (req: Request) => (typeof req.body === 'string' ? req.body : '');

function nodeOf(view: DavView, path: DavPath): DavNode {
  if (path.kind !== 'collection' && path.kind !== 'resource') return { kind: path.kind };
  const collection = view.collection(path.collectionId);
  if (!collection) throw new DavError(404, null, 'no such calendar');
  if (path.kind === 'collection') return { kind: 'collection', collection };
  const resource = view.resources(collection.id).get(path.name);
  if (!resource) throw new DavError(404, null, 'no such event');
  return { kind: 'resource', collection, resource };
}

function propfind(view: DavView, path: DavPath, req: Request, res: Response) {
  const node = nodeOf(view, path);
  const body = parseXml(bodyText(req));
  if (body && !is(body, DAV_NS, 'propfind')) throw new DavError(400, null, 'a PROPFIND body is <d:propfind>');
  const prop = child(body, DAV_NS, 'prop');
  const namesOnly = !!child(body, DAV_NS, 'propname');
  const depth = req.get('Depth') ?? 'infinity';
  if (!['0', '1', 'infinity'].includes(depth)) throw new DavError(400, null, 'Depth must be 0, 1 or infinity');
  const x = xmlDocument(DAV_NS, 'multistatus');
  const nodes = [node, ...(depth === '0' ? [] : view.children(node))];
  for (const [i, n] of nodes.entries()) {
    // The node asked for answers under the href it was asked by ("/" as much as "/dav/").
    const href = i === 0 && n.kind === 'root' ? pathOf(req) : view.href(n);
    const asked = prop ? propNames(prop) : allProps(n);
    x.root.appendChild(propResponse(x, href, asked, (p) => (namesOnly ? '' : readProp(view, n, p, x))));
  }
  res.status(207).type('application/xml; charset=utf-8').send(x.serialize());
}

/** Nothing about a collection is writable by clients: every property they try to set is refused (RFC 4918 9.2). */
function proppatch(view: DavView, path: DavPath, req: Request, res: Response) {
  const node = nodeOf(view, path);
  const body = parseXml(bodyText(req));
  if (!body || !is(body, DAV_NS, 'propertyupdate')) throw new DavError(400, null, 'a PROPPATCH body is <d:propertyupdate>');
  const names = children(body).flatMap((op) => propNames(child(op, DAV_NS, 'prop')));
  const x = xmlDocument(DAV_NS, 'multistatus');
  const props = x.d('prop', names.map((p) => x.el(p.ns, p.name)));
  x.root.appendChild(x.d('response', [x.d('href', view.href(node)), x.d('propstat', [props, x.d('status', 'HTTP/1.1 403 Forbidden')])]));
  res.status(207).type('application/xml; charset=utf-8').send(x.serialize());
}

function get(view: DavView, path: DavPath, req: Request, res: Response) {
  const node = nodeOf(view, path);
  if (node.kind === 'resource') {
    const etag = view.etag(node.resource);
    res.setHeader('ETag', etag);
    if (req.get('If-None-Match')?.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return void res.status(304).end();
    return void res.type('text/calendar; charset=utf-8').send(view.text(node.resource));
  }
  if (node.kind === 'collection') {
    const resources = [...view.resources(node.collection.id).values()];
    return void res.type('text/calendar; charset=utf-8').send(calendarText(resources, { zone: view.zone, alarms: true }));
  }
  res.type('text/plain; charset=utf-8').send('LAN Scheduler CalDAV: add this address to a calendar app (user name: anything, password: the access token).\n');
}

/** CalDAV (RFC 4791, 6578, 6764) over the store: discovery, PROPFIND, REPORT, GET, PUT, DELETE. */
export function davRoutes(options: DavOptions): Router {
  const { store, auth, log, onChanges } = options;
  const router = Router();
  const text = express.text({ type: () => true, limit: MAX_RESOURCE_BYTES });
  // Writes check their conditions and commit one at a time, so two If-Match writes cannot both win.
  let writing: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(run: () => Promise<T>): Promise<T> => {
    const next = writing.then(run, run);
    writing = next.catch(() => undefined);
    return next;
  };

  const dav = async (req: Request, res: Response) => {
    res.setHeader('DAV', '1, 3, calendar-access');
    if (req.method === 'OPTIONS') return void res.setHeader('Allow', ALLOW).status(200).end();
    checkBasic(auth, req);
    const path = parseDavPath(pathOf(req));
    if (!path) throw new DavError(404, null, 'nothing here');
    switch (req.method) {
      case 'PROPFIND':
        return propfind(davView(store), path, req, res);
      case 'PROPPATCH':
        return proppatch(davView(store), path, req, res);
      case 'REPORT':
        return void res.status(207).type('application/xml; charset=utf-8').send(runReport(davView(store), path, parseXml(bodyText(req))));
      case 'GET':
      case 'HEAD':
        return get(davView(store), path, req, res);
      case 'PUT':
        return put(path, req, res);
      case 'DELETE':
        return remove(path, req, res);
      case 'MKCALENDAR':
      case 'MKCOL':
        throw new DavError(403, null, 'calendars are added in the LAN Scheduler page');
      default:
        res.setHeader('Allow', ALLOW);
        throw new DavError(405, null, `${req.method} is not supported here`);
    }
  };

  const put = (path: DavPath, req: Request, res: Response) =>
    exclusive(async () => {
      if (path.kind !== 'resource') throw new DavError(405, null, 'PUT an event into a calendar: /dav/calendars/ID/NAME.ics');
      if (Buffer.byteLength(path.name) > 200) throw new DavError(400, null, 'the resource name is longer than 200 bytes');
      const view = davView(store);
      const collection = view.collection(path.collectionId);
      if (!collection) throw new DavError(409, null, 'no such calendar');
      const existing = view.resources(collection.id).get(path.name);
      checkConditions({ ifMatch: req.get('If-Match'), ifNoneMatch: req.get('If-None-Match') }, existing && view.etag(existing));
      const outcome = await putResource(view, { collection, name: path.name, existing }, bodyText(req), onChanges);
      // No ETag: what is stored is this server's reading of the body, not its bytes (RFC 4791 5.3.4); clients fetch it.
      res.status(outcome === 'created' ? 201 : 204).end();
    });

  const remove = (path: DavPath, req: Request, res: Response) =>
    exclusive(async () => {
      if (path.kind !== 'resource') throw new DavError(403, null, 'calendars are deleted in the LAN Scheduler page');
      const view = davView(store);
      const node = nodeOf(view, path) as Extract<DavNode, { kind: 'resource' }>;
      checkConditions({ ifMatch: req.get('If-Match') }, view.etag(node.resource));
      await deleteResource(store, node.resource, onChanges);
      res.status(204).end();
    });

  router.all('/.well-known/caldav', (_req, res) => res.redirect(301, DAV_ROOT));
  // "/" is the page for browsers; CalDAV clients that are given the bare server address ask it too.
  router.all('/', (req, res, next) => (['PROPFIND', 'OPTIONS', 'REPORT'].includes(req.method) ? next() : next('route')), text, dav);
  router.use('/dav', text, dav);
  router.use(davErrors(log));
  return router;
}

function davErrors(log: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    let error: DavError;
    if (err instanceof DavError) error = err;
    else if (err?.type === 'entity.too.large') error = new DavError(413, 'max-resource-size', `the body is larger than ${MAX_RESOURCE_BYTES} bytes`);
    else {
      const [status, message] = errorAnswer(err);
      if (status === 500) log.error(`CalDAV request failed: ${err?.stack ?? err}`);
      error = new DavError(status, null, message);
    }
    if (error.status === 401) res.setHeader('WWW-Authenticate', REALM);
    res.status(error.status).type('application/xml; charset=utf-8').send(errorXml(error));
  };
}
