// Where records live in ZooKeeper and how their znodes read.
//
//   <root>                 data: LAYOUT (checked on open)
//   <root>/<bb>            256 bucket znodes, bb = two hex digits; data: the marker of the last delete
//   <root>/<bb>/<name>     one znode per record; name = base64url(UTF-8 key); data: marker + JSON
//
// Buckets exist because one znode cannot list much more than 1 MB of child names. A record's
// version is its znode's mzxid (unique per transaction, increasing: never reused) plus a key tag.
import { randomBytes } from 'node:crypto';
import type { Version } from '../../src/store.ts';

export const BUCKETS = 256;
export const LAYOUT = 'registrar/zookeeper/v1 buckets=256';

/** Checks and normalizes a root path: absolute, no trailing slash, not the top. */
export function rootPath(path: string): string {
  const root = path.replace(/\/+$/, '');
  if (!root.startsWith('/') || root.split('/').slice(1).some((part) => part === '' || part === '.' || part === '..')) {
    throw new Error(`ZooKeeper root ${JSON.stringify(path)} must be an absolute path like /registrar`);
  }
  return root;
}

/** FNV-1a over the key's UTF-8 bytes: cheap, stable and spreads keys evenly. */
function keyHash(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}

export const bucketOf = (key: string): number => keyHash(key) % BUCKETS;

export const bucketPath = (root: string, bucket: number): string => `${root}/${bucket.toString(16).padStart(2, '0')}`;

// base64url never yields '/', '.', '..' or characters ZooKeeper refuses in a name.
export const nodeName = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');

/** The key a child name stands for, or undefined for a znode that is not one of ours. */
export function keyOfName(name: string): string | undefined {
  const key = Buffer.from(name, 'base64url').toString('utf8');
  return nodeName(key) === name ? key : undefined;
}

export const recordPath = (root: string, key: string): string => `${bucketPath(root, bucketOf(key))}/${nodeName(key)}`;

const MARKER_BYTES = 16;

/** A fresh commit id, written into every znode a commit changes so that the commit can be recognized. */
export const newMarker = (): Buffer => Buffer.from(randomBytes(12).toString('base64url'), 'ascii');

export const recordData = (marker: Buffer, json: string): Buffer => Buffer.concat([marker, Buffer.from(json, 'utf8')]);

export const markerOf = (data: Buffer): Buffer => data.subarray(0, MARKER_BYTES);

export const jsonOf = (data: Buffer): string => data.subarray(MARKER_BYTES).toString('utf8');

/**
 * A record's version: the zxid of the transaction that last wrote it (its znode's mzxid), tagged with
 * a hash of the key, so that keys written by one commit get different versions.
 */
export const versionOf = (key: string, zxid: Buffer | bigint): Version =>
  `${(typeof zxid === 'bigint' ? zxid : zxid.readBigUInt64BE()).toString(16)}-${keyHash(key).toString(16).padStart(8, '0')}`;
