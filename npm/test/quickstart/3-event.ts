import { Limitr } from '@formata/limitr';
import { readFileSync } from 'fs';

const policy = await Limitr.new(readFileSync('./policy.json', 'utf-8'), 'json');
await policy.createCustomer('user_starter', 'starter');

policy.addHandler('limit-reached-handler', (key: string, value: unknown) => {
if (key === 'meter-limit') {
const record = JSON.parse(value as string);
const { meter, customer, plan, entitlement, credit } = record;

console.log(`
Customer ${customer.id} hit their limit for ${entitlement}.
Used: ${meter.value} tokens. Total: ${meter.limit}. Attempted: ${meter.invalid}.
Plan: ${plan}. Credit: ${credit.description}.
`);
}
});

const requests = [120000, 95000, 180000, 60000, 90000];
for (const tokens of requests) {
await policy.allow('user_starter', 'ai-chat-input', tokens);
}
