// The baselines of the benchmarks: bare Fastify answering the same routes with fixed answers.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/c/:campaignId', async (_req, reply) => reply.redirect('https://offer.example/landing?cid=1', 302));
// The landing-page script's visit: a text/plain JSON body in, a small JSON answer out.
app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, JSON.parse(body as string)));
app.post('/lp/:campaignId', async () => ({ clickId: '1', attributionDays: 30, repeat: false }));
app.get('/postback', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('OK'));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
console.log('ready');
