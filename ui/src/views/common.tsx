/** Pieces every view uses: error boxes, status badges, loading lines. */
import type { ComponentChildren } from "preact";
import { ApiError } from "../api.ts";

export function ErrorBox({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : "ERROR";
  const hint = error instanceof ApiError ? error.hint : undefined;
  return (
    <div class="error" role="alert">
      <pre>{error.message}</pre>
      <div class="muted">
        {code}
        {hint ? ` · ${hint}` : ""}
      </div>
    </div>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`status status-${status.toLowerCase()}`}>{status}</span>;
}

export function Loading({ when, children }: { when: boolean; children?: ComponentChildren }) {
  return when ? (
    <p class="muted" aria-live="polite">
      {children ?? "Loading…"}
    </p>
  ) : null;
}

export function Section(props: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      {props.children}
    </section>
  );
}
