// The etcd3 client as the adapter needs it: no retries and no circuit breakers of its own.
import { Etcd3, type IOptions } from 'etcd3';

const MAX_PAGE_BYTES = 1_000 * 70 * 1024;

/** A policy (cockatiel's interface, as etcd3 calls it) that runs the call once, as it is. */
const once = {
  execute: <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T) => Promise.resolve(fn({ signal: new AbortController().signal })),
} as unknown as NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * A client of the given members (host:port). Each call goes to a random member; a member that is
 * down refuses at once, and calls.ts retries such a call elsewhere. The client's default policies
 * would resend a txn that may have been applied (a false conflict), and keep a member that
 * answered "no leader" out of use for 5 s after the election is over.
 */
export function newEtcdClient(endpoints: string[], options: Partial<IOptions> = {}): Etcd3 {
  return new Etcd3({
    hosts: endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`)),
    faultHandling: { global: once, host: () => once },
    // A page of 1,000 records of up to 64 KiB each is far beyond grpc-js's default 4 MiB.
    grpcOptions: { 'grpc.max_receive_message_length': MAX_PAGE_BYTES },
    ...options,
  });
}
