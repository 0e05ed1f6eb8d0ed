// A Cloudflare Worker over @formata/limitr (resolved through the `workerd` export condition to the
// WASM build). Each request loads the document saved in KV, runs one step of the quick start's
// enforcement loop, and saves the document back: state lives between requests only in KV.
import { Limitr } from '@formata/limitr';
import policy from '../../policies/quickstart.json';

async function load(env) {
  const saved = await env.STATE.get('doc');
  return Limitr.new(saved ?? JSON.stringify(policy), 'json');
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const q = Object.fromEntries(url.searchParams);
    try {
      const p = await load(env);
      let body;
      if (url.pathname === '/customer') {
        body = await p.createCustomer(q.id, q.plan);
      } else if (url.pathname === '/request') {
        const tokens = Number(q.tokens);
        const access = await p.allow(q.customer, 'ai-chat-access');
        const allowed = access && (await p.allow(q.customer, 'ai-chat-input', tokens));
        if (allowed) await p.allow(q.customer, 'ai-chat-output', tokens / 2.2);
        body = {
          access,
          allowed,
          remaining: (await p.remaining(q.customer, 'ai-chat-input')) ?? null,
          output: (await p.value(q.customer, 'ai-chat-output')) ?? null,
        };
      } else if (url.pathname === '/allow') {
        body = { allowed: await p.allow(q.customer, q.entitlement, Number(q.value ?? 0)) };
      } else if (url.pathname === '/customer-state') {
        body = (await p.customer(q.id)) ?? null;
      } else {
        return new Response('not found', { status: 404 });
      }
      await env.STATE.put('doc', p.doc.stringify('json'));
      return Response.json(body);
    } catch (e) {
      return Response.json({ error: e.code ?? 'INTERNAL', message: String(e.message) }, { status: 400 });
    }
  },
};
