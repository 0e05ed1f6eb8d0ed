import { Limitr } from '@formata/limitr';
import { readFileSync } from 'fs';

const policy = await Limitr.new(readFileSync('./policy.json', 'utf-8'), 'json');
await policy.createCustomer('user_starter', 'starter');

const requests = [120000, 95000, 180000, 60000, 90000];

for (const tokens of requests) {
if (await policy.allow('user_starter', 'ai-chat-access')) {
if (await policy.allow('user_starter', 'ai-chat-input', tokens)) {
await policy.allow('user_starter', 'ai-chat-output', tokens / 2.2);

const remaining = await policy.remaining('user_starter', 'ai-chat-input') ?? 0;
const output = await policy.value('user_starter', 'ai-chat-output') ?? 0;
console.log(`✓ Allowed ${tokens.toLocaleString()} input tokens — ${remaining.toLocaleString()} remaining, ${output.toLocaleString()} output tokens used`);
} else {
const remaining = await policy.remaining('user_starter', 'ai-chat-input') ?? 0;
console.log(`✗ Denied ${tokens.toLocaleString()} tokens — limit exceeded (${remaining.toLocaleString()} remaining)`);
}
} else {
console.log(`no ai-chat-access on this plan`);
}
}
