// The baseline for the click benchmark: bare Fastify answering the same route with a fixed 302.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/c/:campaignId', async (_req, reply) => reply.redirect('https://offer.example/landing?cid=1', 302));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
console.log('ready');
