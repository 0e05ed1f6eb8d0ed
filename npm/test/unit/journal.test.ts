// Durable state through the npm package: a journal directory keeps usage across engines, and its
// options are checked where they enter. Run by Node and by Bun.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Limitr, LimitrError } from '@formata/limitr';

const ROOT = resolve(__dirname, '../../..');
const QS = readFileSync(join(ROOT, 'tests/policies/quickstart.json'), 'utf-8');
const T0 = 1767225600000;

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'limitr-journal-'));
}

test('a customer blocked at its limit stays blocked after the engine is reopened', async () => {
  const state = dir();
  try {
    for (const sync of ['always', 'batch', 'os'] as const) {
      const path = join(state, sync);
      const first = await Limitr.new(QS, 'json', { journal: path, sync, now: () => T0 });
      await first.createCustomer('u1', 'starter');
      assert.equal(await first.allow('u1', 'ai-chat-input', 500000), true);
      assert.equal(await first.allow('u1', 'ai-chat-input', 1), false);
      first.close();
      const again = await Limitr.new(QS, 'json', { journal: path, sync, now: () => T0 });
      assert.equal(await again.allow('u1', 'ai-chat-input', 1), false, sync);
      assert.equal(await again.remaining('u1', 'ai-chat-input'), 0);
      again.close();
    }
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('one engine per journal directory', async () => {
  const state = dir();
  try {
    const first = await Limitr.new(QS, 'json', { journal: state });
    await assert.rejects(Limitr.new(QS, 'json', { journal: state }), (e: LimitrError) => e.code === 'STORAGE' && /in use/.test(e.message));
    first.close();
    (await Limitr.new(QS, 'json', { journal: state })).close();
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('bad load options are INVALID_ARGUMENT naming the option', async () => {
  const bad: [object, RegExp][] = [
    [{ shard: true }, /options: unknown option "shard"/],
    [{ journal: 42 }, /options\.journal/],
    [{ journal: '/tmp/x', syncMs: Number.NaN }, /options\.syncMs/],
    [{ journal: '/tmp/x', snapshotEvery: -1 }, /options\.snapshotEvery/],
    [{ maxDocumentBytes: Infinity }, /options\.maxDocumentBytes/],
    [{ journal: '/tmp/x', sync: 'sometimes' }, /sync: `sometimes` is not a sync mode/],
    [{ sync: 'os' }, /journal options need `journal`/],
  ];
  for (const [options, message] of bad) {
    await assert.rejects(Limitr.new(QS, 'json', options as any), (e: LimitrError) => {
      assert.equal(e.code, 'INVALID_ARGUMENT', e.message);
      assert.match(e.message, message);
      return true;
    });
  }
});

test('exportCustomer / importCustomer move a customer between engines, journaled or not', async () => {
  const state = dir();
  try {
    const a = await Limitr.new(QS, 'json', { now: () => T0 });
    await a.createCustomer('u1', 'growth');
    assert.equal(await a.allow('u1', 'ai-chat-input', 650000), true);
    const record = await a.exportCustomer('u1');
    assert.ok(record);
    const b = await Limitr.new(QS, 'json', { journal: state, now: () => T0 });
    assert.equal(await b.importCustomer(record), false);
    assert.deepEqual(await b.exportCustomer('u1'), record);
    b.close();
    const c = await Limitr.new(QS, 'json', { journal: state, now: () => T0 });
    assert.deepEqual(await c.exportCustomer('u1'), record, 'the import was journaled');
    assert.equal(await c.exportCustomer('nobody'), undefined);
    await assert.rejects(c.importCustomer({ id: 'x', meters: { m: {} } } as any), (e: LimitrError) => e.code === 'INVALID_ARGUMENT' && /^record: meters\.m/.test(e.message));
    c.close();
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
