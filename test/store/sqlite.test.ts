import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/store/index.ts";
import { runRepositoryContract } from "../contract/repositories.ts";

runRepositoryContract("sqlite", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-store-"));
  const handle = await openDatabase({ dataDir });
  return {
    db: handle.db,
    close: async () => {
      await handle.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
