// The shared store on Redis through the npm package: engines in several processes enforce one
// limit with no overspend, and the store's options are checked where they enter. Each test run
// starts its own redis-server on a free loopback port (with a deadline) and stops it by its pid.
// Run by Node and by Bun.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Limitr, LimitrError } from '@formata/limitr';

const ROOT = resolve(__dirname, '../../..');
const QS = readFileSync(join(ROOT, 'tests/policies/quickstart.json'), 'utf-8');
const LIMIT = 500000; // the starter plan's hard daily limit on ai-chat-input

let server: ChildProcess | undefined;
let url = '';

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

function pong(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const c = connect(port, '127.0.0.1');
    c.once('error', () => ok(false));
    c.once('connect', () => c.write('PING\r\n'));
    c.once('data', (d) => {
      c.destroy();
      ok(d.toString().startsWith('+PONG'));
    });
  });
}

before(async () => {
  const port = await freePort();
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 10_000;
  while (!(await pong(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  url = `redis://127.0.0.1:${port}`;
});

after(() => {
  if (server?.pid !== undefined) process.kill(server.pid, 'SIGKILL');
});

test('two engines on one store share a hard limit', async () => {
  const a = await Limitr.new(QS, 'json', { store: { redis: url, prefix: 'two' } });
  const b = await Limitr.new(QS, 'json', { store: { redis: url, prefix: 'two' } });
  await a.createCustomer('u', 'starter');
  assert.equal(await a.allow('u', 'ai-chat-input', 400000), true);
  assert.equal(await b.allow('u', 'ai-chat-input', 200000), false, 'b sees what a spent');
  assert.equal(await b.allow('u', 'ai-chat-input', 100000), true);
  assert.equal(await a.allow('u', 'ai-chat-input', 1), false, 'a sees what b spent');
  assert.equal(await a.remaining('u', 'ai-chat-input'), 0);
  // another prefix is another set of customers
  const c = await Limitr.new(QS, 'json', { store: { redis: url, prefix: 'other' } });
  assert.equal(await c.customer('u'), undefined);
});

test('four processes on one customer never overspend its hard limit', async () => {
  const setup = await Limitr.new(QS, 'json', { store: { redis: url, prefix: 'hammer' } });
  await setup.createCustomer('shared', 'starter');
  const seed = Date.now();
  console.log(`redis hammer: seed ${seed}`);
  const runs = [1, 2, 3, 4].map(
    (i) =>
      new Promise<number>((ok, fail) => {
        const child = spawn(process.execPath, [join(ROOT, 'npm/test/redis/worker.mjs'), url, 'hammer', String(seed + i)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout!.on('data', (d) => (out += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('exit', (code) => {
          clearTimeout(timer);
          if (code === 0) ok(Number(out.trim()));
          else fail(new Error(`worker ${i} exited with ${code}: ${out}`));
        });
      }),
  );
  const allowed = await Promise.all(runs);
  const total = allowed.reduce((a, b) => a + b, 0);
  console.log(`redis hammer: allowed ${allowed.join(' + ')} = ${total} of ${LIMIT}`);
  assert.ok(total <= LIMIT, `overspent: ${total} > ${LIMIT}`);
  assert.equal(await setup.value('shared', 'ai-chat-input'), total, 'the store holds exactly what was allowed');
  assert.ok(total > LIMIT - 5000, `stopped early: ${total}`);
});

test('awaited calls on a Redis store leave the event loop running', async () => {
  const p = await Limitr.new(QS, 'json', { store: { redis: url, prefix: 'lag' } });
  await p.createCustomer('u', 'growth');
  const calls = 2000;
  let ticks = 0;
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
    ticks += 1;
  }, 2);
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: calls }, (_, i) => (i % 2 ? p.allow('u', 'ai-chat-input', 1) : p.check('u', 'ai-chat-input', 1))),
  );
  const took = performance.now() - started;
  clearInterval(timer);
  console.log(
    `redis: ${calls} awaited calls in flight took ${took.toFixed(1)} ms; the event loop ticked ${ticks} times, worst gap ${worst.toFixed(1)} ms`,
  );
  assert.ok(answers.every((a) => a === true));
  assert.equal(await p.value('u', 'ai-chat-input'), calls / 2);
  // a call that blocked the loop would run all of them before the first tick
  assert.ok(ticks >= 3, `the loop ticked ${ticks} times in ${took.toFixed(1)} ms`);
  // every offloaded call answers as its sync twin does
  assert.equal(await p.remaining('u', 'ai-chat-input'), 700000 - calls / 2);
  assert.equal(await p.increment('u', 'ai-chat-input', true, { idempotencyKey: 'i1' }), true);
  assert.equal(await p.increment('u', 'ai-chat-input', true, { idempotencyKey: 'i1' }), true);
  assert.equal(await p.decrement('u', 'ai-chat-input'), true);
  assert.equal(await p.value('u', 'ai-chat-input'), calls / 2);
  assert.equal(await p.set('u', 'ai-chat-input', 5000), true);
  const hold = await p.reserve('u', 'ai-chat-input', { value: 700 });
  assert.ok(typeof hold === 'string');
  assert.equal(await p.settle('u', 'ai-chat-input', hold!, 600), true);
  const other = await p.reserve('u', 'ai-chat-input', { value: 10 });
  assert.equal(await p.release('u', 'ai-chat-input', other!), true);
  assert.equal(await p.value('u', 'ai-chat-input'), 5600);
  assert.equal(await p.value('nobody', 'ai-chat-input'), undefined);
  assert.equal(await p.reserve('nobody', 'ai-chat-input', { value: 1 }), undefined);
  // errors of offloaded calls are the same LimitrError a sync call throws
  await assert.rejects(p.set('u', 'ai-chat-input', Number.NaN), (e: unknown) => e instanceof LimitrError && e.code === 'INVALID_ARGUMENT');
  await assert.rejects(p.reserve('u', 'ai-chat-input', { ttl: 0 } as any), (e: unknown) => e instanceof LimitrError && e.code === 'INVALID_ARGUMENT');
  await assert.rejects(p.allow('', 'ai-chat-input', 1), (e: unknown) => e instanceof LimitrError && e.code === 'INVALID_ARGUMENT');
  await assert.rejects(
    p.allow('u', 'ai-chat-input', 1, true, undefined, { idempotencyKey: '' }),
    (e: unknown) => e instanceof LimitrError && e.code === 'INVALID_ARGUMENT' && e.message.includes('idempotency_key'),
  );
});

test('store options are checked where they enter', async () => {
  const bad = async (options: unknown, name: string) => {
    await assert.rejects(Limitr.new(QS, 'json', options as any), (e: unknown) => {
      assert.ok(e instanceof LimitrError, String(e));
      assert.equal(e.code, 'INVALID_ARGUMENT', e.message);
      assert.ok(e.message.startsWith(name), e.message);
      return true;
    });
  };
  await bad({ store: { redis: 'http://x' } }, 'store.redis');
  await bad({ store: { redis: url, mode: 'lease' } }, 'store.mode');
  await bad({ store: { redis: url, shards: 2 } }, 'options.store');
  await bad({ store: { redis: url, timeoutMs: 0 } }, 'options.store.timeoutMs');
  await bad({ store: { redis: url }, journal: '/tmp/x' }, 'store');
  await assert.rejects(Limitr.new(QS, 'json', { store: { redis: 'redis://127.0.0.1:1', timeoutMs: 50 } }), (e: unknown) => {
    assert.ok(e instanceof LimitrError && e.code === 'STORAGE', String(e));
    return true;
  });
});

