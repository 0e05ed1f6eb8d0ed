// The Node/Bun child of the journal's crash test (crates/limitr-journal/examples/crash.rs drives
// it and SIGKILLs it): opens the journal given as the last argument in `os` sync mode and answers
// one call per line, `<op> <customer> <value> <now-ms> <idempotency-key>` →
// `ok <true|false|error:CODE>`.
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { writeSync } from 'node:fs';
import { Limitr } from '@formata/limitr';

const here = new URL('.', import.meta.url);
const doc = readFileSync(new URL('../../../tests/policies/quickstart.json', here), 'utf-8');
const dir = process.argv[process.argv.length - 1];
let now = 0;
const policy = Limitr.newSync(doc, 'json', { journal: dir, sync: 'os', snapshotEvery: 300, now: () => now });
const say = (line) => writeSync(1, line + '\n');
say('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const [op, customer, value, at, idempotencyKey] = line.split(' ');
  now = Number(at);
  const v = Number(value);
  const key = { idempotencyKey };
  let answer;
  try {
    if (op === 'create') {
      policy.createCustomerSync(customer, v % 2 === 0 ? 'starter' : 'growth', undefined, undefined, null, null, null, key);
      answer = true;
    } else if (op === 'allow') {
      answer = policy.allowSync(customer, 'ai-chat-input', v, true, undefined, key);
    } else if (op === 'set') {
      answer = policy.setSync(customer, 'ai-chat-output', v, true, key);
    } else if (op === 'topup') {
      answer = policy.applyCustomerTopupSync(customer, 'ai-token-small', key);
    } else {
      throw new Error(`unknown op ${op}`);
    }
  } catch (e) {
    if (e?.code === undefined) throw e;
    answer = `error:${e.code}`;
  }
  say(`ok ${answer}`);
}
