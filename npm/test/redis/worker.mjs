// A worker process of the Redis test (npm/test/unit/redis.test.ts): opens the quick start policy
// on the shared store given as `<url> <prefix>`, spends on one customer until denied, and prints
// the units it was allowed.
import { readFileSync } from 'node:fs';
import { Limitr } from '@formata/limitr';

const doc = readFileSync(new URL('../../../tests/policies/quickstart.json', import.meta.url), 'utf-8');
const [url, prefix, seed] = process.argv.slice(2);
const policy = Limitr.newSync(doc, 'json', { store: { redis: url, prefix } });
let x = Number(seed) | 1;
const cost = () => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return 1 + ((x >>> 0) % 5000);
};
let allowed = 0;
let denied = 0;
while (denied < 20) {
  const c = cost();
  if (policy.allowSync('shared', 'ai-chat-input', c)) allowed += c;
  else denied += 1;
}
process.stdout.write(`${allowed}\n`);
