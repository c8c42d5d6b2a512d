/** Ceiling 2 and the baseline of every ratio: Fastify 5, no plugins, no schemas, no logger. */
import Fastify from "fastify";
import { announce, exitWith, HOST, ITEMS_PATH, listItems } from "./common.ts";

const app = Fastify({ logger: false });
app.get(ITEMS_PATH, async (request) => {
  const limit = Number((request.query as { limit?: string }).limit ?? 10);
  return listItems(Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : 10);
});

await app.listen({ port: 0, host: HOST });
const address = app.server.address();
announce({ port: typeof address === "object" && address ? address.port : 0 });
exitWith(() => app.close());
