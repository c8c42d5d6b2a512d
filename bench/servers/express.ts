/**
 * The Express equivalent: helmet, cors (allowlisted origin), express-rate-limit (one generous limit),
 * passport-jwt (HS256, the secret pre-parsed into a KeyObject so jsonwebtoken does not re-parse it on
 * every request), a role check, and an ajv validator for the query compiled once.
 */
import { createSecretKey, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Ajv } from "ajv";
import cors from "cors";
import express, { type NextFunction, type Request, type Response } from "express";
import { rateLimit } from "express-rate-limit";
import helmet from "helmet";
import jsonwebtoken from "jsonwebtoken";
import passport from "passport";
import { ExtractJwt, Strategy as JwtStrategy } from "passport-jwt";
import { announce, exitWith, HOST, ITEMS_PATH, listItems, ORIGIN, QUERY_SCHEMA } from "./common.ts";

interface BenchUser {
  sub: string;
  role: string;
}

const raw = randomBytes(32);
const key = createSecretKey(raw);

passport.use(
  new JwtStrategy(
    {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // jsonwebtoken accepts a KeyObject; the types only list string | Buffer.
      secretOrKey: key as unknown as string,
      algorithms: ["HS256"],
    },
    (payload: BenchUser, done: (error: unknown, user?: BenchUser | false) => void) => done(null, { sub: payload.sub, role: payload.role }),
  ),
);

const ajv = new Ajv({ coerceTypes: true, allErrors: false });
const validateQuery = ajv.compile(QUERY_SCHEMA);

function requireRole(request: Request, response: Response, next: NextFunction) {
  const role = (request.user as BenchUser | undefined)?.role;
  if (role !== "user" && role !== "admin") {
    response.status(403).json({ error: "forbidden" });
    return;
  }
  next();
}

function validate(request: Request, response: Response, next: NextFunction) {
  const query: Record<string, unknown> = { ...(request.query as Record<string, unknown>) };
  if (!validateQuery(query)) {
    response.status(400).json({ error: "bad request", details: validateQuery.errors });
    return;
  }
  response.locals.query = query;
  next();
}

const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.use(helmet());
app.use(cors({ origin: [ORIGIN] }));
app.use(rateLimit({ windowMs: 60_000, limit: 100_000_000, standardHeaders: "draft-7", legacyHeaders: false }));
app.use(passport.initialize());
app.get(ITEMS_PATH, passport.authenticate("jwt", { session: false }), requireRole, validate, (_request, response) => {
  response.json(listItems((response.locals.query as { limit: number }).limit));
});

const server = app.listen(0, HOST, () => {
  const sign = (payload: BenchUser) => jsonwebtoken.sign(payload, raw, { algorithm: "HS256", expiresIn: "3h" });
  announce({
    port: (server.address() as AddressInfo).port,
    token: sign({ sub: "u1", role: "user" }),
    forbiddenToken: sign({ sub: "u2", role: "guest" }),
    note: "passport-jwt HS256",
  });
  exitWith(() => new Promise<void>((resolve) => server.close(() => resolve())));
});
