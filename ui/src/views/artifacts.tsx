/**
 * A run's artifacts: a folder tree loaded as it is opened, and a preview of the chosen file
 * (text, JSON, YAML and MLmodel, CSV as a table, images) with a download link. The chosen file
 * is in the URL (a).
 */
import { useEffect, useState } from "preact/hooks";
import { artifactUrl, type FileInfo, mlflow } from "../api.ts";
import { formatBytes } from "../format.ts";
import { setParams } from "../route.ts";

const PREVIEW_BYTES = 2 * 1024 * 1024;
const CSV_ROWS = 500;
const IMAGE = /\.(png|jpe?g|gif|webp|svg|bmp)$/i;
const TEXT =
  /(\.(txt|log|md|py|ts|js|sh|cfg|ini|toml|xml|html|csv|tsv|json|jsonl|ya?ml|r|sql|ipynb)|MLmodel|requirements\.txt)$/i;

function listDir(runId: string, path: string | undefined): Promise<FileInfo[]> {
  return mlflow
    .get<{ files?: FileInfo[] }>("artifacts/list", { run_id: runId, path })
    .then((r) =>
      (r.files ?? []).sort(
        (a, b) => Number(!!b.is_dir) - Number(!!a.is_dir) || a.path.localeCompare(b.path),
      ),
    );
}

function Folder(props: { runId: string; path?: string; chosen: string | null; depth: number }) {
  const [files, setFiles] = useState<FileInfo[] | null>(null);
  const [open, setOpen] = useState<Set<string>>(() => new Set());
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    listDir(props.runId, props.path).then(setFiles, (e: Error) => setError(e.message));
  }, [props.runId, props.path]);
  if (error) return <p class="error">{error}</p>;
  if (!files) return <p class="muted">Loading…</p>;
  if (files.length === 0 && props.depth === 0) return <p class="muted">No artifacts.</p>;
  return (
    <ul class="tree" aria-label={props.depth === 0 ? "Artifacts" : undefined}>
      {files.map((f) => {
        const name = f.path.split("/").pop() ?? f.path;
        if (f.is_dir) {
          const isOpen = open.has(f.path) || (props.chosen?.startsWith(`${f.path}/`) ?? false);
          return (
            <li key={f.path}>
              <button
                type="button"
                class="link"
                aria-expanded={isOpen}
                onClick={() => {
                  const next = new Set(open);
                  if (isOpen) next.delete(f.path);
                  else next.add(f.path);
                  setOpen(next);
                }}
              >
                {isOpen ? "▾" : "▸"} {name}/
              </button>
              {isOpen && (
                <Folder
                  runId={props.runId}
                  path={f.path}
                  chosen={props.chosen}
                  depth={props.depth + 1}
                />
              )}
            </li>
          );
        }
        return (
          <li key={f.path}>
            <button
              type="button"
              class={`link${props.chosen === f.path ? " current" : ""}`}
              aria-current={props.chosen === f.path ? "true" : undefined}
              onClick={() => setParams({ a: f.path })}
            >
              {name}
            </button>
            <span class="muted"> {formatBytes(Number(f.file_size ?? 0))}</span>
          </li>
        );
      })}
    </ul>
  );
}

function parseCsv(text: string, separator: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length && rows.length <= CSV_ROWS; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === separator) {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += ch;
  }
  if (cell || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function Preview({ runId, path }: { runId: string; path: string }) {
  const url = artifactUrl(runId, path);
  const [text, setText] = useState<{ body: string; cut: boolean } | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const isImage = IMAGE.test(path);
  const isText = TEXT.test(path) || !/\.[a-z0-9]+$/i.test(path.split("/").pop() ?? "");
  useEffect(() => {
    setText(null);
    setError(undefined);
    if (isImage || !isText) return;
    fetch(url)
      .then(async (r) => {
        if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
        const buffer = await r.arrayBuffer();
        const cut = buffer.byteLength > PREVIEW_BYTES;
        const body = new TextDecoder().decode(buffer.slice(0, PREVIEW_BYTES));
        setText({ body, cut });
      })
      .catch((e: Error) => setError(e.message));
  }, [url]);
  let body: preact.JSX.Element;
  if (isImage) body = <img src={url} alt={path} class="artifact-image" />;
  else if (!isText) body = <p class="muted">No preview for this kind of file.</p>;
  else if (error) body = <p class="error">{error}</p>;
  else if (!text) body = <p class="muted">Loading…</p>;
  else if (/\.(csv|tsv)$/i.test(path)) {
    const rows = parseCsv(text.body, /\.tsv$/i.test(path) ? "\t" : ",");
    const [head, ...rest] = rows;
    body = (
      <div class="csv">
        <table class="grid">
          <thead>
            <tr>
              {(head ?? []).map((h, i) => (
                <th key={i} scope="col">
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rest.slice(0, CSV_ROWS).map((r, i) => (
              <tr key={i}>
                {r.map((c, j) => (
                  <td key={j}>{c}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {rest.length > CSV_ROWS && <p class="muted">First {CSV_ROWS} rows shown.</p>}
      </div>
    );
  } else {
    let shown = text.body;
    if (/\.json$/i.test(path) && !text.cut) {
      try {
        shown = JSON.stringify(JSON.parse(text.body), null, 2);
      } catch {
        // shown as it is
      }
    }
    body = <pre class="artifact-text">{shown}</pre>;
  }
  return (
    <div class="preview" data-artifact={path}>
      <div class="toolbar">
        <strong class="mono">{path}</strong>
        <a class="button" href={url} download={path.split("/").pop()}>
          Download
        </a>
      </div>
      {text?.cut && <p class="muted">The first {formatBytes(PREVIEW_BYTES)} are shown.</p>}
      {body}
    </div>
  );
}

export function Artifacts({ runId, chosen }: { runId: string; chosen: string | null }) {
  return (
    <div class="artifacts">
      <nav class="card">
        <Folder runId={runId} chosen={chosen} depth={0} />
      </nav>
      <div class="card">
        {chosen ? (
          <Preview runId={runId} path={chosen} />
        ) : (
          <p class="muted">Choose a file to preview it.</p>
        )}
      </div>
    </div>
  );
}
