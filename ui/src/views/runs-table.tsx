/**
 * The runs table: rows fetched from the server in blocks as they scroll into view, and only the
 * rows on screen in the DOM, so 100,000 runs scroll like 100. Nested runs fold under their
 * parent; headers sort; j/k/Enter/x work from the keyboard.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { fetchWindow, type RunRow, type WindowQuery } from "../api.ts";
import { CHOSEN_WIDTH, chosenColumn, FIXED, gridTemplate, parseSort } from "../columns.ts";
import { formatCell, formatDuration, formatTime } from "../format.ts";
import { useShown } from "../live.ts";
import { href, navigate } from "../route.ts";
import { Status } from "./common.tsx";

export const ROW_HEIGHT = 32;
const BLOCK = 100;
const OVERSCAN = 8;

export type TableQuery = Omit<WindowQuery, "offset" | "limit" | "keys">;

export interface TableProps {
  query: TableQuery;
  orderBy: string | null;
  selected: ReadonlySet<string>;
  /** Bumped by a live change: visible rows are fetched again. */
  refresh: number;
  onSort: (orderBy: string | null) => void;
  onSelect: (ids: string[], on: boolean) => void;
  onExpand: (id: string) => void;
  onResult: (result: { total: number; matched: number }) => void;
  onError: (error: Error | undefined) => void;
  /** The first rows in order, for the charts of "the top runs". */
  onFirstRows?: (rows: RunRow[]) => void;
}

export function RunsTable(props: TableProps) {
  const { query } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  const [total, setTotal] = useState<number | undefined>(undefined);
  const [focus, setFocus] = useState(0);
  const [, setVersion] = useState(0);
  const blocks = useRef(new Map<number, RunRow[]>());
  const inflight = useRef(new Set<number>());
  const generation = useRef(0);
  const key = JSON.stringify(query);
  const latest = useRef(props);
  latest.current = props;

  const fetchBlock = (block: number, gen: number) => {
    if (inflight.current.has(block)) return;
    inflight.current.add(block);
    fetchWindow({ ...query, offset: block * BLOCK, limit: BLOCK }).then(
      (result) => {
        inflight.current.delete(block);
        if (gen !== generation.current) return;
        blocks.current.set(block, result.rows);
        setTotal(result.total);
        setVersion((v) => v + 1);
        latest.current.onError(undefined);
        latest.current.onResult(result);
        if (block === 0) latest.current.onFirstRows?.(result.rows);
      },
      (error: Error) => {
        inflight.current.delete(block);
        if (gen === generation.current) latest.current.onError(error);
      },
    );
  };

  // A new query: start over from the first block (the old rows stay until the answer comes).
  useEffect(() => {
    const gen = ++generation.current;
    inflight.current.clear();
    const keep = blocks.current;
    blocks.current = new Map();
    for (const [b, rows] of keep) if (b === 0) blocks.current.set(b, rows);
    fetchBlock(0, gen);
  }, [key]);

  // A live change: fetch the blocks on screen again.
  useEffect(() => {
    if (props.refresh === 0) return;
    const gen = generation.current;
    const [first, last] = blockRange(view, total ?? 0);
    for (let b = first; b <= last; b++) {
      inflight.current.delete(b);
      fetchBlock(b, gen);
    }
  }, [props.refresh]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    let frame = 0;
    const update = () => {
      frame = 0;
      setView({ top: el.scrollTop, height: el.clientHeight });
    };
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(update);
    };
    el.addEventListener("scroll", onScroll, { passive: true });
    const observer = new ResizeObserver(update);
    observer.observe(el);
    update();
    return () => {
      el.removeEventListener("scroll", onScroll);
      observer.disconnect();
      cancelAnimationFrame(frame);
    };
  }, []);

  const count = total ?? 0;
  const [firstBlock, lastBlock] = blockRange(view, count);
  useEffect(() => {
    for (let b = firstBlock; b <= lastBlock; b++) {
      if (!blocks.current.has(b)) fetchBlock(b, generation.current);
    }
  }, [firstBlock, lastBlock, key, count]);

  const rowAt = (i: number): RunRow | undefined =>
    blocks.current.get(Math.floor(i / BLOCK))?.[i % BLOCK];
  const chosen = query.columns.map(chosenColumn);
  const template = gridTemplate(chosen.length);
  const width = 40 + FIXED.reduce((s, c) => s + c.width, 0) + chosen.length * CHOSEN_WIDTH;
  const sort = parseSort(props.orderBy);

  const first = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(count, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN);
  const rows: preact.JSX.Element[] = [];
  const shown: string[] = [];
  for (let i = first; i < last; i++) {
    const row = rowAt(i);
    if (row) shown.push(row.id);
    const style = { transform: `translateY(${i * ROW_HEIGHT}px)`, gridTemplateColumns: template };
    rows.push(
      row ? (
        <Row
          key={row.id}
          row={row}
          index={i}
          style={style}
          focused={i === focus}
          selected={props.selected.has(row.id)}
          expanded={query.expanded.includes(row.id)}
          onSelect={props.onSelect}
          onExpand={props.onExpand}
        />
      ) : (
        <div key={`pending-${i}`} class="tr pending" role="row" aria-rowindex={i + 2} style={style}>
          <div class="td" role="cell" />
        </div>
      ),
    );
  }

  useShown(shown);

  const moveFocus = (to: number) => {
    const next = Math.max(0, Math.min(count - 1, to));
    setFocus(next);
    const el = scroller.current;
    if (!el) return;
    const y = next * ROW_HEIGHT;
    if (y < el.scrollTop + ROW_HEIGHT) el.scrollTop = Math.max(0, y - ROW_HEIGHT);
    else if (y + ROW_HEIGHT > el.scrollTop + el.clientHeight) {
      el.scrollTop = y + 2 * ROW_HEIGHT - el.clientHeight;
    }
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.target instanceof HTMLInputElement && event.key !== "Enter") return;
    const row = rowAt(focus);
    if (event.key === "j" || event.key === "ArrowDown") moveFocus(focus + 1);
    else if (event.key === "k" || event.key === "ArrowUp") moveFocus(focus - 1);
    else if (event.key === "PageDown") moveFocus(focus + Math.floor(view.height / ROW_HEIGHT));
    else if (event.key === "PageUp") moveFocus(focus - Math.floor(view.height / ROW_HEIGHT));
    else if (event.key === "Home") moveFocus(0);
    else if (event.key === "End") moveFocus(count - 1);
    else if (event.key === "x" && row) props.onSelect([row.id], !props.selected.has(row.id));
    else if (event.key === "Enter" && row && !(event.target instanceof HTMLAnchorElement)) {
      navigate(href(`/run/${row.id}`));
    } else return;
    event.preventDefault();
  };

  const header = (label: string, sortKey: string | undefined, title?: string) => {
    const active = sortKey !== undefined && sort?.sort === sortKey;
    const direction = active ? (sort?.descending ? "descending" : "ascending") : "none";
    return (
      <div class="th" role="columnheader" aria-sort={direction} title={title ?? label} key={label}>
        {sortKey === undefined ? (
          <span>{label}</span>
        ) : (
          <button
            type="button"
            class="sort"
            onClick={() =>
              props.onSort(`${sortKey} ${active && sort?.descending ? "ASC" : "DESC"}`)
            }
          >
            {label}
            <span aria-hidden="true">{active ? (sort?.descending ? " ▼" : " ▲") : ""}</span>
          </button>
        )}
      </div>
    );
  };
  const visibleIds = () => {
    const ids: string[] = [];
    for (const rowsOfBlock of blocks.current.values()) for (const r of rowsOfBlock) ids.push(r.id);
    return ids;
  };
  const allLoadedSelected = count > 0 && visibleIds().every((id) => props.selected.has(id));

  return (
    <div
      class="table-scroll"
      ref={scroller}
      role="table"
      aria-label="Runs"
      aria-rowcount={count + 1}
      tabIndex={0}
      onKeyDown={onKeyDown}
    >
      <div
        class="tr thead"
        role="row"
        aria-rowindex={1}
        style={{ gridTemplateColumns: template, width }}
      >
        <div class="th" role="columnheader">
          <input
            type="checkbox"
            aria-label="Select the loaded runs"
            checked={allLoadedSelected}
            onChange={(e) => props.onSelect(visibleIds(), e.currentTarget.checked)}
          />
        </div>
        {FIXED.map((c) => header(c.label, c.sort))}
        {chosen.map((c) =>
          header(
            c.label,
            c.sort,
            `${c.kind === "p" ? "param" : c.kind === "t" ? "tag" : "metric"} ${c.label}${c.sort ? "" : " (not sortable)"}`,
          ),
        )}
      </div>
      <div class="tbody" role="rowgroup" style={{ height: count * ROW_HEIGHT, width }}>
        {rows}
      </div>
    </div>
  );
}

function blockRange(view: { top: number; height: number }, total: number): [number, number] {
  const first = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.max(
    first,
    Math.min(total, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN) - 1,
  );
  return [Math.floor(first / BLOCK), Math.floor(last / BLOCK)];
}

function Row(props: {
  row: RunRow;
  index: number;
  style: Record<string, string>;
  focused: boolean;
  selected: boolean;
  expanded: boolean;
  onSelect: (ids: string[], on: boolean) => void;
  onExpand: (id: string) => void;
}) {
  const { row } = props;
  const duration =
    row.end === null
      ? row.status === "RUNNING"
        ? Date.now() - row.start
        : null
      : row.end - row.start;
  const classes = [
    "tr",
    props.focused && "focused",
    props.selected && "selected",
    row.deleted && "deleted",
  ];
  return (
    <div
      class={classes.filter(Boolean).join(" ")}
      role="row"
      aria-rowindex={props.index + 2}
      aria-selected={props.selected}
      data-run-id={row.id}
      style={props.style}
    >
      <div class="td" role="cell">
        <input
          type="checkbox"
          aria-label={`Select ${row.name}`}
          checked={props.selected}
          onChange={(e) => props.onSelect([row.id], e.currentTarget.checked)}
        />
      </div>
      <div class="td name" role="cell" style={{ paddingLeft: `${4 + row.depth * 16}px` }}>
        {row.children > 0 ? (
          <button
            type="button"
            class="fold"
            aria-expanded={props.expanded}
            aria-label={`${props.expanded ? "Fold" : "Unfold"} ${row.children} child runs of ${row.name}`}
            onClick={() => props.onExpand(row.id)}
          >
            {props.expanded ? "▾" : "▸"}
          </button>
        ) : (
          <span class="fold-space" />
        )}
        <a href={href(`/run/${row.id}`)} title={row.name}>
          {row.name || row.id}
        </a>
        {row.children > 0 && <span class="badge">{row.children}</span>}
      </div>
      <div class="td" role="cell">
        <Status status={row.status} />
      </div>
      <div class="td" role="cell">
        {formatTime(row.start)}
      </div>
      <div class="td num" role="cell">
        {formatDuration(duration)}
      </div>
      <div class="td" role="cell" title={row.user}>
        {row.user}
      </div>
      <div class="td" role="cell" title={row.source}>
        {row.source.split("/").pop()}
      </div>
      {row.cells.map((cell, i) => (
        <div
          key={i}
          class={`td${typeof cell === "number" ? " num" : ""}`}
          role="cell"
          title={cell === null ? "" : String(cell)}
        >
          {formatCell(cell)}
        </div>
      ))}
    </div>
  );
}
