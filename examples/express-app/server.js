// An Express API protected by Rampart: its own routes, each declaring who may call it, plus Rampart's
// identity routes (register, login, tokens, admin) at /auth/… and /admin/…, served by the pipeline.
import express from "express";
import { createRampart, RampartError } from "rampart/express";

const rampart = await createRampart({
  dataDir: process.env.RAMPART_DATA_DIR ?? "./data",
  roles: {
    reader: ["items:read"],
    editor: ["items:read", "items:write"],
  },
});

const app = express();
app.use(rampart.pipeline); // first: HTTPS, security headers, CORS, per-IP limits; the identity routes
app.use(rampart.json()); // JSON bodies only, read once the route's declaration has passed

const items = [];

// Public: anyone, with a tight per-IP limit of its own.
app.get("/status", rampart.route({ auth: "public", limits: ["3/minute"] }), (req, res) => {
  res.json({ ok: true });
});

// Declares nothing: any authenticated caller, never anonymous.
app.get("/api/profile", (req, res) => {
  res.json({ user: req.rampart.principal.userId, roles: req.rampart.principal.roles });
});

// Needs a permission that only the application's roles grant.
app.get("/api/items", rampart.route({ permissions: ["items:read"] }), (req, res) => {
  res.json({ items });
});

app.post("/api/items", rampart.route({ permissions: ["items:write"], limits: ["20/minute burst 5"] }), (req, res) => {
  const name = req.body?.name;
  if (typeof name !== "string" || name.length === 0 || name.length > 100) {
    // Rendered by rampart.errors as a 400 problem, like every other error.
    throw new RampartError("RAMPART_ERR_VALIDATION", { detail: "/name: must be a string of 1 to 100 characters" });
  }
  const item = { id: items.length + 1, name, owner: req.rampart.principal.userId };
  items.push(item);
  res.status(201).json(item);
});

app.use(rampart.errors); // last: 404 and every error as problem+json

const host = process.env.HOST ?? "127.0.0.1";
const server = app.listen(Number(process.env.PORT ?? 3000), host, () => {
  console.log(`listening on http://${host}:${server.address().port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    rampart.close().then(() => process.exit(0));
  });
}
