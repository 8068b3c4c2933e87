import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "vitest";
import { excerpt } from "../src/excerpt.ts";
import { RestClient } from "../src/store/rest/client.ts";

test("an error body's excerpt drops markup, folds white space and is cut at the limit", () => {
  const page = Buffer.from(
    `<html>\n<body><h1>Bad   Gateway</h1>\n\t<p>${"x".repeat(400)}</p></body>`,
  );
  expect(excerpt(Buffer.from("<h1>Bad   Gateway</h1>\n\tnginx"))).toBe("Bad Gateway nginx");
  expect(excerpt(page)).toBe(`Bad Gateway ${"x".repeat(288)}...`);
  expect(excerpt(page, 20)).toBe("Bad Gateway xxxxxxxx...");
});

test("RestClient quotes a body that is not JSON in 200 characters at most", async () => {
  const html = `<html><body>${"y".repeat(500)}</body></html>`;
  const server = createServer((_req, res) => res.writeHead(200).end(html));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const client = new RestClient(`http://127.0.0.1:${port}`);
    await expect(client.json("GET", "/api/2.0/mlflow/experiments/get")).rejects.toThrow(
      `with a body that is not JSON: ${"y".repeat(200)}...`,
    );
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
