/** `req.rampart` on Express's request type: the same state object Fastify's `request.rampart` is. */
import type { RequestState } from "../http/request-state.ts";

declare global {
  namespace Express {
    interface Request {
      /** Set by `rampart.pipeline` for every request it lets through: the client, and the principal once a guard passed. */
      rampart: RequestState;
    }
  }
}
