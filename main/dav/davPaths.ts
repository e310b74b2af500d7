/** Where things live: the DAV root, the one principal, the calendar home, collections, resources. */
export const DAV_ROOT = '/dav/';
export const PRINCIPAL = '/dav/principal/';
export const HOME = '/dav/calendars/';

export const collectionHref = (collectionId: string) => `${HOME}${encodeURIComponent(collectionId)}/`;
export const resourceHref = (collectionId: string, name: string) => `${collectionHref(collectionId)}${encodeURIComponent(name)}`;

export type DavPath =
  | { kind: 'root' | 'principal' | 'home' }
  | { kind: 'collection'; collectionId: string }
  | { kind: 'resource'; collectionId: string; name: string };

/** What a request path or an href (absolute URLs too, as some clients send in multiget) names; null if nothing. */
export function parseDavPath(pathOrUrl: string): DavPath | null {
  let path = pathOrUrl;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return null;
    }
  }
  path = path.split('?')[0]!;
  if (path === '/' || path === '/dav' || path === DAV_ROOT) return { kind: 'root' };
  if (!path.startsWith(DAV_ROOT)) return null;
  const rest = path.slice(DAV_ROOT.length);
  const trailing = rest.endsWith('/');
  let parts: string[];
  try {
    parts = (trailing ? rest.slice(0, -1) : rest).split('/').map(decodeURIComponent);
  } catch {
    return null;
  }
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('/'))) return null;
  const [top, collectionId, name, ...deeper] = parts;
  if (top === 'principal' && parts.length === 1) return { kind: 'principal' };
  if (top !== 'calendars' || deeper.length) return null;
  if (collectionId === undefined) return { kind: 'home' };
  if (name === undefined) return { kind: 'collection', collectionId };
  if (trailing) return null;
  return { kind: 'resource', collectionId, name };
}
