// Wrapper (not in the quick start): "Read customer state" is a fragment that uses `policy`; this sets
// `policy` up as the "Handle an event" script leaves it. Between the markers: the quick start, verbatim.
import { Limitr } from '@formata/limitr';
import { readFileSync } from 'fs';
const policy = await Limitr.new(readFileSync('./policy.json', 'utf-8'), 'json');
await policy.createCustomer('user_starter', 'starter');
for (const tokens of [120000, 95000, 180000, 60000, 90000]) await policy.allow('user_starter', 'ai-chat-input', tokens);
// ---- quick start, verbatim ----
const customer = await policy.customer('user_starter');
console.log(JSON.stringify(customer, null, 2));

// Or read individual values
const pct = await policy.value('user_starter', 'ai-chat-input', true);
console.log(`Usage: ${pct}% of daily token budget`);

const obj = policy.doc.record(); // JS Record
const json = policy.doc.stringify('json');
const yaml = policy.doc.stringify('yaml');
const toml = policy.doc.stringify('toml');
// ---- end of the quick start; wrapper: show the document was serialised ----
console.log('doc:', typeof obj, json.length > 0, yaml.length > 0, toml.length > 0);
