// The target's lock for one command at a time across machines: an item of the `_ferry_locks`
// table, written only where none is or the one there is stale (DynamoDB's conditional writes are
// atomic, so no read-back is needed as for an S3 lock object). The holder renews it while it
// runs; a lock not renewed for a lease, or whose process is gone on this host, is taken over.
import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import type { LockHolder, LockOutcome } from '../../core/contracts.js';
import { holderOf, LEASE_MS, processGone } from '../../core/lock-file.js';
import { toFerryError, withRetries } from './client.js';
import { ensureKeyedTable, type TableContext } from './tables.js';

export const LOCKS_TABLE = '_ferry_locks';
const NAME = 'lock';

const failedCondition = (err: unknown) => (err as Error).name === 'ConditionalCheckFailedException';

export async function takeDynamoLock(ctx: TableContext, name: string, me: LockHolder): Promise<LockOutcome> {
  const what = `taking the lock ${name} in DynamoDB table ${LOCKS_TABLE}`;
  const send = <T>(fn: () => Promise<T>) =>
    withRetries(fn, ctx.log, what, ctx.backoff).catch((err: unknown) => {
      if (failedCondition(err)) throw err;
      throw toFerryError(err, 'WRITE_FAILED', what, ctx.endpoint);
    });
  await ensureKeyedTable(ctx, LOCKS_TABLE, NAME);
  const token = randomBytes(8).toString('hex');
  const key = { [NAME]: { S: name } };
  const item = () => ({
    ...key,
    holder: { S: JSON.stringify(me) },
    token: { S: token },
    renewed: { N: String(Date.now()) },
  });
  const found = (
    await send(() => ctx.client.send(new GetItemCommand({ TableName: LOCKS_TABLE, Key: key, ConsistentRead: true })))
  ).Item;
  const holder = found?.holder?.S ? holderOf(found.holder.S) : undefined;
  // a holder whose process is gone on this host leaves its lock at once, not after the lease
  const gone = !!holder && processGone(holder) ? found?.token?.S : undefined;
  try {
    await send(() =>
      ctx.client.send(
        new PutItemCommand({
          TableName: LOCKS_TABLE,
          Item: item(),
          ConditionExpression: `attribute_not_exists(#name) OR renewed < :stale${gone ? ' OR #token = :gone' : ''}`,
          ExpressionAttributeNames: { '#name': NAME, ...(gone ? { '#token': 'token' } : {}) },
          ExpressionAttributeValues: {
            ':stale': { N: String(Date.now() - LEASE_MS) },
            ...(gone ? { ':gone': { S: gone } } : {}),
          },
        }),
      ),
    );
  } catch (err) {
    if (!failedCondition(err)) throw err;
    const now = (
      await send(() => ctx.client.send(new GetItemCommand({ TableName: LOCKS_TABLE, Key: key, ConsistentRead: true })))
    ).Item;
    return { heldBy: now?.holder?.S ? holderOf(now.holder.S) : undefined };
  }
  const mine = {
    ConditionExpression: '#token = :token',
    ExpressionAttributeNames: { '#token': 'token' },
    ExpressionAttributeValues: { ':token': { S: token } },
  };
  const renew = setInterval(() => {
    void ctx.client.send(new PutItemCommand({ TableName: LOCKS_TABLE, Item: item(), ...mine })).catch(() => {});
  }, LEASE_MS / 6);
  renew.unref();
  return {
    lease: {
      async release() {
        clearInterval(renew);
        await ctx.client
          .send(new DeleteItemCommand({ TableName: LOCKS_TABLE, Key: key, ...mine }))
          .catch((err: unknown) => {
            // taken over meanwhile: the lock is someone else's now
            if (!failedCondition(err))
              throw toFerryError(err, 'WRITE_FAILED', `releasing the lock ${name}`, ctx.endpoint);
          });
      },
    },
  };
}
