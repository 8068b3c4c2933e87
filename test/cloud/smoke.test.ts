import { writeFileSync } from "node:fs";
import { test } from "vitest";
import { openRepository, readAll } from "../../src/artifacts/repository.ts";
import { startMoto } from "../helpers/emulators.ts";

test("smoke", async () => {
  const emu = await startMoto();
  try {
    const top = await openRepository("s3://mlruns-test", { env: emu.env });
    console.log("top", await top.list().catch((e) => e.message));
    const repo = await openRepository(emu.root("exp/run1/artifacts"), { env: emu.env });
    await repo.put("a/b.txt", { bytes: Buffer.from("hello") });
    const big = Buffer.alloc(25 * 1024 * 1024, 7);
    big[5] = 1;
    writeFileSync("/tmp/big.bin", big);
    let sent = 0;
    await repo.put("big.bin", { file: "/tmp/big.bin" }, { onProgress: (n) => (sent += n) });
    console.log("sent", sent);
    console.log(await repo.list(), await repo.list("a"));
    console.log(Buffer.from(await readAll(repo, "a/b.txt")).toString(), (await readAll(repo, "big.bin")).length);
    await repo.delete("a");
    console.log(await repo.list());
    const bad = await openRepository(emu.root("x"), { env: emu.badEnv });
    await bad.put("c.txt", { bytes: Buffer.from("x") }).catch((e) => console.log("bad:", e.code, e.message, e.hint));
  } finally {
    await emu.stop();
  }
});
