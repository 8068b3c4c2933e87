/** The model registry: every registered model, and one model's versions with their runs. */
import {
  type MlflowModelVersion,
  type MlflowRegisteredModel,
  mlflow,
  tagsOf,
  toNumber,
} from "../api.ts";
import { formatAgo, formatTime } from "../format.ts";
import { useLoad, useThrottle } from "../hooks.ts";
import { useLive } from "../live.ts";
import { renderMarkdown } from "../markdown.ts";
import { href } from "../route.ts";
import { ErrorBox, Loading, Section } from "./common.tsx";

function useRegistryLive(reload: () => void) {
  const refresh = useThrottle(reload, 1000);
  useLive((change) => {
    if (change.registry || change.all) refresh();
  });
}

const tagText = (tags: Record<string, string>) =>
  Object.entries(tags)
    .filter(([k]) => !k.startsWith("mlflow."))
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

export function ModelsPage() {
  const { data, error, loading, reload } = useLoad(
    () =>
      mlflow.get<{ registered_models?: MlflowRegisteredModel[] }>("registered-models/search", {
        max_results: 1000,
      }),
    [],
  );
  useRegistryLive(reload);
  const models = data?.registered_models ?? [];
  return (
    <div class="page">
      <h1>Registered models</h1>
      <ErrorBox error={error} />
      <Loading when={loading && !data} />
      {data && models.length === 0 && <p class="muted">No registered models.</p>}
      {models.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Latest versions</th>
              <th scope="col">Aliases</th>
              <th scope="col">Tags</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.name}>
                <td>
                  <a href={href(`/models/${encodeURIComponent(m.name)}`)}>{m.name}</a>
                </td>
                <td>
                  {(m.latest_versions ?? []).map((v) => (
                    <span class="badge" key={v.version}>
                      v{v.version}
                      {v.current_stage && v.current_stage !== "None" ? ` ${v.current_stage}` : ""}
                    </span>
                  ))}
                </td>
                <td>
                  {(m.aliases ?? []).map((a) => (
                    <span class="badge" key={a.alias}>
                      @{a.alias} → v{a.version}
                    </span>
                  ))}
                </td>
                <td class="mono">{tagText(tagsOf(m.tags))}</td>
                <td title={formatTime(toNumber(m.last_updated_timestamp))}>
                  {formatAgo(toNumber(m.last_updated_timestamp))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function ModelPage({ name }: { name: string }) {
  const model = useLoad(
    () =>
      mlflow.get<{ registered_model: MlflowRegisteredModel }>("registered-models/get", { name }),
    [name],
  );
  const escaped = name.replace(/'/g, "\\'");
  const versions = useLoad(
    () =>
      mlflow.get<{ model_versions?: MlflowModelVersion[] }>("model-versions/search", {
        filter: `name = '${escaped}'`,
        max_results: 1000,
      }),
    [name],
  );
  useRegistryLive(() => {
    model.reload();
    versions.reload();
  });
  const m = model.data?.registered_model;
  const aliasesOf = new Map<string, string[]>();
  for (const a of m?.aliases ?? [])
    aliasesOf.set(a.version, [...(aliasesOf.get(a.version) ?? []), a.alias]);
  const list = [...(versions.data?.model_versions ?? [])].sort(
    (a, b) => Number(b.version) - Number(a.version),
  );
  return (
    <div class="page">
      <nav class="crumbs" aria-label="Breadcrumbs">
        <a href="#/models">Registered models</a>
      </nav>
      <h1>{name}</h1>
      <ErrorBox error={model.error ?? versions.error} />
      <Loading when={model.loading && !m} />
      {m && (
        <Section title="Model" id="model-info">
          {m.description ? (
            <div
              class="markdown"
              dangerouslySetInnerHTML={{ __html: renderMarkdown(m.description) }}
            />
          ) : (
            <p class="muted">No description.</p>
          )}
          <p>
            Created {formatTime(toNumber(m.creation_timestamp))} · updated{" "}
            {formatAgo(toNumber(m.last_updated_timestamp))}
          </p>
          <p class="mono">{tagText(tagsOf(m.tags)) || "No tags."}</p>
        </Section>
      )}
      <Section title={`Versions (${list.length})`} id="model-versions">
        <table class="grid versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Stage</th>
              <th scope="col">Aliases</th>
              <th scope="col">Run</th>
              <th scope="col">Source</th>
              <th scope="col">Tags</th>
              <th scope="col">Created</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {list.map((v) => (
              <tr key={v.version}>
                <td>v{v.version}</td>
                <td>{v.current_stage ?? ""}</td>
                <td>
                  {[...new Set([...(v.aliases ?? []), ...(aliasesOf.get(v.version) ?? [])])].map(
                    (a) => (
                      <span class="badge" key={a}>
                        @{a}
                      </span>
                    ),
                  )}
                </td>
                <td>
                  {v.run_id ? (
                    <a href={href(`/run/${v.run_id}`)} class="mono">
                      {v.run_id.slice(0, 8)}
                    </a>
                  ) : (
                    ""
                  )}
                </td>
                <td class="mono">{v.source ?? ""}</td>
                <td class="mono">{tagText(tagsOf(v.tags))}</td>
                <td>{formatTime(toNumber(v.creation_timestamp))}</td>
                <td>{v.description ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </div>
  );
}
