/** Reading a metric's history a page at a time: any length in bounded memory, on any store. */
import type { Metric } from "../entities.ts";
import type { TrackingStore } from "./store.ts";

/** The points of one metric, `pageSize` at a time, in the store's order. */
export async function* historyPages(
  store: Pick<TrackingStore, "getMetricHistoryPage">,
  runId: string,
  key: string,
  pageSize: number,
): AsyncGenerator<Metric[]> {
  let pageToken: string | undefined;
  do {
    const page = await store.getMetricHistoryPage(runId, key, {
      maxResults: pageSize,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    yield page.metrics;
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
}
