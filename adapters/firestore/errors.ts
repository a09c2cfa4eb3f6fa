// The one place that reads Firestore's (gRPC) error codes, by reason rather than by exception type.

/** google.rpc.Code values Firestore answers with. */
const Code = {
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/**
 * - conflict: a write's precondition failed; nothing was applied.
 * - rejected: transient, and the request was refused unapplied (contention, quota).
 * - unanswered: transient, and a write may have been applied (the answer was lost).
 * - fatal: not transient (permissions, a malformed request): passed on unchanged.
 */
export type Failure = 'conflict' | 'rejected' | 'unanswered' | 'fatal';

/**
 * Classifies an error from a Firestore call. `write.preconditioned` says whether the call was a
 * commit that carried a precondition: only then is NOT_FOUND (no document to update) a conflict,
 * and only writes ever conflict.
 */
export function classifyFirestoreError(err: unknown, write?: { preconditioned: boolean }): Failure {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  switch (code) {
    case Code.ALREADY_EXISTS:
    case Code.FAILED_PRECONDITION:
      return write ? 'conflict' : 'fatal';
    case Code.NOT_FOUND:
      return write?.preconditioned ? 'conflict' : 'fatal';
    case Code.ABORTED:
    case Code.RESOURCE_EXHAUSTED:
      return 'rejected';
    case Code.UNAVAILABLE:
    case Code.DEADLINE_EXCEEDED:
    case Code.INTERNAL:
    case Code.UNKNOWN:
    case Code.CANCELLED:
      return 'unanswered';
    default:
      return 'fatal';
  }
}
