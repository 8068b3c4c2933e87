/**
 * Live updates: one EventSource on the server's change stream for the whole page; views
 * subscribe to the changes they show, and name the runs they show (`useShown`), which the
 * server then re-checks every half second, watched or not. The browser reconnects by itself; a
 * reconnect refreshes every view, since changes may have been missed meanwhile.
 */
import { useEffect, useRef } from "preact/hooks";
import { ui } from "./api.ts";

export interface Change {
  experiments: string[];
  runs: string[];
  experimentList: boolean;
  registry: boolean;
  /** Set on a reconnect: anything may have changed. */
  all?: boolean;
}

type Listener = (change: Change) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;
/** This page's name for the server: its stream and the runs it shows go together. */
const PAGE = Math.random().toString(36).slice(2) + Date.now().toString(36);

function connect(): void {
  if (source || typeof EventSource === "undefined") return;
  source = new EventSource(`_mlruns/events?page=${PAGE}`);
  let opened = false;
  source.addEventListener("hello", () => {
    sendShown();
    if (opened) {
      const all = { experiments: [], runs: [], experimentList: true, registry: true, all: true };
      for (const listener of listeners) listener(all);
    }
    opened = true;
  });
  source.addEventListener("change", (event) => {
    const change = JSON.parse((event as MessageEvent<string>).data) as Change;
    for (const listener of listeners) listener(change);
  });
}

/** Calls `onChange` (the latest one given) for every change while the component is mounted. */
export function useLive(onChange: Listener): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    connect();
    const listener: Listener = (change) => latest.current(change);
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
}

const watched = new Set<string>();

/**
 * Asks the server to watch these experiments (a page opened straight on a run or a comparison,
 * whose runs no table has searched yet), so their changes reach this page.
 */
export function useWatch(experimentIds: string[]): void {
  const key = experimentIds.join(",");
  useEffect(() => {
    const fresh = key.split(",").filter((id) => id && !watched.has(id));
    if (fresh.length === 0) return;
    for (const id of fresh) watched.add(id);
    void ui.get("watch", { experiment_id: fresh }).catch(() => {
      for (const id of fresh) watched.delete(id);
    });
  }, [key]);
}

/** The runs each mounted view shows; the server hears their union (at most MAX_SHOWN). */
const shown = new Map<object, readonly string[]>();
const MAX_SHOWN = 200;
let sending: ReturnType<typeof setTimeout> | undefined;

function sendShown(): void {
  clearTimeout(sending);
  sending = setTimeout(() => {
    const runs = new Set<string>();
    for (const ids of shown.values()) for (const id of ids) runs.add(id);
    void ui.get("watch", { page: PAGE, run_id: [...runs].slice(0, MAX_SHOWN) }).catch(() => {});
  }, 50);
}

/** Names the runs this view shows, so changes to them reach the page whichever they are. */
export function useShown(runIds: readonly string[]): void {
  const owner = useRef({});
  const key = runIds.join(",");
  useEffect(() => {
    connect();
    shown.set(owner.current, runIds);
    sendShown();
  }, [key]);
  useEffect(
    () => () => {
      shown.delete(owner.current);
      sendShown();
    },
    [],
  );
}
