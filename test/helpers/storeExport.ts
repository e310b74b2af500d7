import type { Store, VersionedChange } from '../../main/store/types.js';

/** Every record and tombstone a store holds now, with its version: the pages of `exportPages` as one list. */
export function exportedChanges(store: Store): VersionedChange[] {
  const all: VersionedChange[] = [];
  for (const page of store.exportPages().pages) for (const change of page) all.push(change);
  return all;
}
