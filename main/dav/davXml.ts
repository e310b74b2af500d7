import { DOMImplementation, DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { CALDAV_NS, DAV_NS, DavError } from './davError.js';

export const CS_NS = 'http://calendarserver.org/ns/';
export const APPLE_NS = 'http://apple.com/ns/ical/';
const XMLNS = 'http://www.w3.org/2000/xmlns/';
const PREFIXES: Record<string, string> = { [DAV_NS]: 'd', [CALDAV_NS]: 'cal', [CS_NS]: 'cs', [APPLE_NS]: 'ical' };

/** A property name: its namespace and local name. */
export interface PropName {
  ns: string;
  name: string;
}

export const key = (p: PropName) => `{${p.ns}}${p.name}`;

/** Parses a WebDAV request body; an empty body is null, malformed XML is a 400. */
export function parseXml(text: string): Element | null {
  if (!text.trim()) return null;
  let problem = '';
  const parser = new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning' && !problem) problem = message;
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(text, 'application/xml');
  } catch (err) {
    throw new DavError(400, null, `the body is not XML: ${String((err as Error).message).split('\n')[0]}`);
  }
  if (problem || !doc.documentElement) throw new DavError(400, null, `the body is not XML: ${problem.split('\n')[0] || 'no root element'}`);
  return doc.documentElement;
}

export const children = (el: Element | null | undefined): Element[] =>
  el ? Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1) : [];

export const is = (el: Element | null | undefined, ns: string, name: string) => !!el && el.namespaceURI === ns && el.localName === name;

export const child = (el: Element | null | undefined, ns: string, name: string) => children(el).find((c) => is(c, ns, name));

export const textOf = (el: Element | null | undefined) => (el?.textContent ?? '').trim();

/** The property names inside a `<d:prop>`. */
export const propNames = (prop: Element | null | undefined): PropName[] =>
  children(prop).map((c) => ({ ns: c.namespaceURI ?? '', name: c.localName ?? '' }));

/** Builds one XML answer with the usual prefixes declared once on its root. */
export function xmlDocument(ns: string, name: string) {
  const doc = new DOMImplementation().createDocument(ns, `${PREFIXES[ns] ?? 'x'}:${name}`, null);
  const root = doc.documentElement!;
  for (const [uri, prefix] of Object.entries(PREFIXES)) if (uri !== ns) root.setAttributeNS(XMLNS, `xmlns:${prefix}`, uri);
  let other = 0;
  const prefixes = new Map(Object.entries(PREFIXES));
  const el = (elNs: string, elName: string, content?: string | Element[] | null, attrs: Record<string, string> = {}): Element => {
    let prefix = prefixes.get(elNs);
    if (!prefix) prefixes.set(elNs, (prefix = `x${other++}`));
    const node = elNs ? doc.createElementNS(elNs, `${prefix}:${elName}`) : doc.createElement(elName);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (typeof content === 'string') node.appendChild(doc.createTextNode(content));
    else if (content) for (const c of content) node.appendChild(c);
    return node;
  };
  return {
    root,
    el,
    d: (elName: string, content?: string | Element[] | null) => el(DAV_NS, elName, content),
    serialize: () => `<?xml version="1.0" encoding="utf-8"?>\n${new XMLSerializer().serializeToString(doc)}`,
  };
}

export type XmlBuilder = ReturnType<typeof xmlDocument>;

/** A property's value as elements (or text) built with the answer's builder; undefined means "not here". */
export type PropValue = string | Element[];

/**
 * One `<d:response>`: the asked properties that have values under 200, the others under 404,
 * as RFC 4918 asks.
 */
export function propResponse(x: XmlBuilder, href: string, asked: PropName[], read: (p: PropName) => PropValue | undefined) {
  const found: Element[] = [];
  const missing: Element[] = [];
  for (const p of asked) {
    const value = read(p);
    if (value === undefined) missing.push(x.el(p.ns, p.name));
    else found.push(x.el(p.ns, p.name, value));
  }
  const propstats: Element[] = [];
  if (found.length) propstats.push(x.d('propstat', [x.d('prop', found), x.d('status', 'HTTP/1.1 200 OK')]));
  if (missing.length) propstats.push(x.d('propstat', [x.d('prop', missing), x.d('status', 'HTTP/1.1 404 Not Found')]));
  return x.d('response', [x.d('href', href), ...propstats]);
}

/** A `<d:response>` that says a member is gone (sync-collection) or unknown (multiget). */
export function statusResponse(x: XmlBuilder, href: string, status: string) {
  return x.d('response', [x.d('href', href), x.d('status', `HTTP/1.1 ${status}`)]);
}

/** The `<d:error>` body of a failed precondition, with a message for people. */
export function errorXml(err: DavError): string {
  const x = xmlDocument(DAV_NS, 'error');
  if (err.precondition) x.root.appendChild(x.el(err.namespace, err.precondition));
  x.root.appendChild(x.el('http://lan-scheduler.invalid/ns', 'message', err.message));
  return x.serialize();
}
