/**
 * The fifth target of the store, registry and logged-models contracts: a RestStore talking to `mlruns server`
 * over a FileStore, so every behaviour the suites ask of a store holds end to end, through
 * MLflow's JSON, our handlers and the artifact proxy.
 */
import { afterAll } from "vitest";
import { RestStore } from "../src/store/rest/index.ts";
import { startTestServer, type TestServer } from "./helpers/server.ts";
import { describeLoggedModelStore } from "./logged-models-contract.ts";
import { describeRegistryStore } from "./registry-contract.ts";
import { describeTrackingStore } from "./store-contract.ts";

let server: Promise<TestServer> | undefined;
const shared = () => {
  server ??= startTestServer();
  return server;
};
afterAll(async () => {
  await (await server)?.stop();
});

const FAST = { insecureTls: false, maxRetries: 1, backoffFactor: 0.01, timeout: 30 };

describeTrackingStore(
  "RestStore → mlruns server",
  async () => ({ store: new RestStore((await shared()).url, FAST) }),
  {
    customArtifacts: { location: (label) => `file:///tmp/${label}` },
    skip: {
      "an experiment's custom artifact location holds its runs' artifacts":
        "the server shows clients mlflow-artifacts:/ URIs for every artifact it keeps, whatever " +
        "folder the tree records (a custom location is tested in server.test.ts)",
    },
  },
);

describeRegistryStore("RestStore → mlruns server", async () => ({
  store: new RestStore((await shared()).url, FAST),
}));

describeLoggedModelStore("RestStore → mlruns server", async () => ({
  store: new RestStore((await shared()).url, FAST),
}));
