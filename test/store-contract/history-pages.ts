/** The TrackingStore contract. Metric history a page at a time. */
import { describe, expect } from "vitest";
import type { Metric } from "../../src/entities.ts";
import { type Contract, expectMlflowError, point, T } from "./context.ts";

export function historyPagesContract({ test, store, newRun }: Contract): void {
  describe("metric history pages", () => {
    test("getMetricHistoryPage reads a history a page at a time, in logged order", async () => {
      const { runId } = await newRun("history-pages");
      // Logged out of step order, and a point logged twice at one step: pages keep both.
      const logged = [5, 3, 9, 3, 0, 1, 2].map((step, i) => point("m", i / 3, T + i, step));
      await store().logBatch(runId, { metrics: logged.slice(0, 4) });
      await store().logBatch(runId, { metrics: logged.slice(4) });
      const pages: Metric[][] = [];
      let pageToken: string | undefined;
      do {
        const page = await store().getMetricHistoryPage(runId, "m", {
          maxResults: 3,
          ...(pageToken === undefined ? {} : { pageToken }),
        });
        pages.push(page.metrics);
        pageToken = page.nextPageToken;
      } while (pageToken !== undefined && pages.length < 10);
      expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual(await store().getMetricHistory(runId, "m"));
      expect(pages.flat().map((m) => m.step)).toEqual([5, 3, 9, 3, 0, 1, 2]);
      const whole = await store().getMetricHistoryPage(runId, "m", { maxResults: 1000 });
      expect(whole).toEqual({ metrics: pages.flat() });
      expect(await store().getMetricHistoryPage(runId, "none", { maxResults: 5 })).toEqual({
        metrics: [],
      });
      await expectMlflowError(
        store().getMetricHistoryPage(runId, "m", { maxResults: 0 }),
        "INVALID_PARAMETER_VALUE",
      );
      await expectMlflowError(
        store().getMetricHistoryPage(runId, "m", { maxResults: 2, pageToken: "not a token" }),
        "INVALID_PARAMETER_VALUE",
      );
    });
  });
}
