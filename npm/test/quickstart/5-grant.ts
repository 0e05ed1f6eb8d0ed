import { Limitr } from '@formata/limitr';
import { readFileSync } from 'fs';

const policy = await Limitr.new(readFileSync('./policy.json', 'utf-8'), 'json');
await policy.createCustomer('user_growth', 'growth');

// Grant 10 abstract AI tokens to this customer
await policy.applyCustomerTopup('user_growth', 'ai-token-small');

// 700,000 included, then the grant covers overage (via exchange table)
const requests = [520000, 98000, 200000, 60000, 900000];
for (const tokens of requests) {
await policy.allow('user_growth', 'ai-chat-input', tokens);
}

const customer = await policy.customer('user_growth');
console.log(customer!.meters);

for (const [_, gr] of Object.entries(customer!.grants)) {
const grant = gr as any;
if (grant.topup === 'ai-token-small') {
console.log('Grant starting value:', grant.starting_value);
console.log('Grant current value: ', Math.round(grant.value * 100) / 100);
}
}
