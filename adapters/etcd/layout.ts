// Where records live in etcd and how their values read.
//
//   <root>/layout          "registrar/etcd/v1" (checked on open)
//   <root>/r/<key>         one etcd key per record; value: {"m":"<marker>","v":<the record's JSON>}
//   <root>/m/<marker>      written by a commit that deletes without putting anything, then removed
//
// A record's version is its key's mod_revision (the cluster-wide revision of the write that last
// changed it) with a tag of the key. Revisions only grow, so a version is never reused for a key, even after a delete and
// re-create (unless the cluster is restored from an older snapshot, as with any store's backup).
// The marker, a fresh random id per commit, lets a commit whose answer was lost find out whether
// it was applied (commit.ts).
import { randomBytes } from 'node:crypto';
import type { Version } from '../../src/store.ts';

export const LAYOUT = 'registrar/etcd/v1';

/** Checks and normalizes a root: absolute, no trailing slash, not the top, no empty or dot parts. */
export function rootPath(path: string): string {
  const root = path.replace(/\/+$/, '');
  if (!root.startsWith('/') || root.split('/').slice(1).some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`etcd prefix ${JSON.stringify(path)} must be an absolute path like /registrar`);
  }
  return root;
}

export interface Layout {
  root: string;
  layoutKey: Buffer;
  /** Every record key starts with these bytes. */
  records: Buffer;
}

export function layoutOf(root: string): Layout {
  return { root, layoutKey: Buffer.from(`${root}/layout`), records: Buffer.from(`${root}/r/`) };
}

export const recordKey = (layout: Layout, key: string): Buffer => Buffer.concat([layout.records, Buffer.from(key, 'utf8')]);

/** The record key an etcd key stands for. */
export const keyOf = (layout: Layout, etcdKey: Buffer): string => etcdKey.subarray(layout.records.length).toString('utf8');

export const markerKey = (layout: Layout, marker: string): Buffer => Buffer.from(`${layout.root}/m/${marker}`);

/**
 * The end of the range of keys that start with `prefix` (etcd's "prefix plus one"). Keys here are
 * UTF-8 after an ASCII root, so no byte is 0xff and incrementing the last one is enough.
 */
export function rangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  return end;
}

/** A fresh commit id: 16 base64url characters, no JSON escaping needed. */
export const newMarker = (): string => randomBytes(12).toString('base64url');

/** The stored bytes of a record: the commit's marker beside the value's JSON, still readable with etcdctl. */
export const recordValue = (marker: string, json: string): Buffer => Buffer.from(`{"m":"${marker}","v":${json}}`, 'utf8');

interface Stored {
  m: string;
  v: unknown;
}

function parseStored(value: Buffer): Stored {
  const stored = JSON.parse(value.toString('utf8')) as Stored;
  if (typeof stored !== 'object' || stored === null || typeof stored.m !== 'string' || !('v' in stored)) {
    throw new Error('an etcd value under the store\'s prefix is not a registrar record');
  }
  return stored;
}

export const recordOf = <T>(value: Buffer): T => parseStored(value).v as T;

export const markerOf = (value: Buffer): string | undefined => {
  try {
    return parseStored(value).m;
  } catch {
    return undefined;
  }
};

/** FNV-1a over the key's UTF-8 bytes: cheap and stable. */
function keyTag(key: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/**
 * A record's version: its mod_revision, tagged with a hash of the key, since every key one commit
 * writes gets the same revision and one key's version must not pass for another's.
 */
export const versionOf = (key: string, modRevision: string | number): Version => `${modRevision}-${keyTag(key)}`;

/** The revision a key's version stands for, or undefined for a string no write of this key returned. */
export function revisionOf(key: string, version: Version): string | undefined {
  const m = /^([1-9]\d{0,18})-([0-9a-f]{8})$/.exec(version);
  return m && m[2] === keyTag(key) ? m[1] : undefined;
}
