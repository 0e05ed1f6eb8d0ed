import { Limitr } from '@formata/limitr';
import { readFileSync } from 'fs';

const policyDoc = readFileSync('./policy.json', 'utf-8');
const policy = await Limitr.new(policyDoc, 'json');

await policy.createCustomer('user_starter', 'starter');
await policy.createCustomer('user_growth', 'growth');

console.log('Policy loaded. Customers created.');
console.log('Starter limit:', await policy.limit('user_starter', 'ai-chat-input'));
console.log('Growth limit: ', await policy.limit('user_growth', 'ai-chat-input'));
