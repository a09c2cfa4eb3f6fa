// How a record maps onto a Firestore document: the key becomes the document id, the value's JSON
// a string field, and the version comes from the document's update time.
import { createHash } from 'node:crypto';
import { Timestamp } from '@google-cloud/firestore';
import type { Version } from '../../src/store.ts';

/** The fields of a record document. `commit` names the commit that wrote it. */
export interface RecordDocument {
  value: string;
  commit: string;
}

export const VALUE_FIELD = 'value';
export const COMMIT_FIELD = 'commit';
/** Never written: deleting it is a no-op update, which keeps the update time (a check). */
export const UNWRITTEN_FIELD = 'unwritten';

export const recordDocument = (json: string, commit: string): RecordDocument => ({ value: json, commit });

// Document ids may not contain '/', be '.' or '..', match __.*__ or exceed 1,500 bytes. Escapes are
// two characters ('%' and a letter), so a 512-byte key stays under 1,024 bytes, and the code is
// prefix-free: a key starts with a prefix exactly when its id starts with the prefix's id, so a
// prefix is one contiguous range of ids.
const ESCAPES: Record<string, string> = { '%': '%p', '/': '%s' };
const LEADING_ESCAPES: Record<string, string> = { ...ESCAPES, '.': '%d', _: '%u' };
const UNESCAPES: Record<string, string> = { p: '%', s: '/', d: '.', u: '_' };

/** The document id of a key; of a prefix, the id prefix shared by every key under it. */
export function documentId(key: string): string {
  let id = '';
  for (const char of key) id += (id === '' ? LEADING_ESCAPES : ESCAPES)[char] ?? char;
  return id;
}

/** The key a document id encodes, or undefined for an id this store never writes. */
export function keyOf(id: string): string | undefined {
  let key = '';
  for (let i = 0; i < id.length; i++) {
    const char = id[i]!;
    if (char !== '%') {
      key += char;
      continue;
    }
    const unescaped = UNESCAPES[id[++i] ?? ''];
    if (unescaped === undefined) return undefined;
    key += unescaped;
  }
  return documentId(key) === id ? key : undefined;
}

// A version is the document's update time at full precision plus a tag of its key: the documents of
// one commit share an update time, and one key's version must never match another key.
const VERSION = /^(\d{1,12})\.(\d{9})\.([\w-]{16})$/;

const keyTag = (key: string) => createHash('sha256').update(key).digest('base64url').slice(0, 16);

export function versionOf(key: string, updateTime: Timestamp): Version {
  return `${updateTime.seconds}.${String(updateTime.nanoseconds).padStart(9, '0')}.${keyTag(key)}`;
}

/** The update time a version of this key stands for; undefined when no document of the key can have it. */
export function updateTimeOf(key: string, version: Version): Timestamp | undefined {
  const match = VERSION.exec(version);
  if (!match || match[3] !== keyTag(key)) return undefined;
  try {
    return new Timestamp(Number(match[1]), Number(match[2]));
  } catch {
    return undefined; // outside Firestore's time range
  }
}
