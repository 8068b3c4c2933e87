/**
 * The MLflow filter box. Enter applies; an invalid filter keeps the table as it was and shows
 * the server's message with its caret under the box.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "../api.ts";

export function FilterBox(props: {
  value: string;
  error: ApiError | Error | undefined;
  onApply: (filter: string) => void;
}) {
  const [text, setText] = useState(props.value);
  useEffect(() => setText(props.value), [props.value]);
  const input = useRef<HTMLInputElement>(null);
  return (
    <form
      class="filter"
      aria-label="Filter runs"
      onSubmit={(e) => {
        e.preventDefault();
        // What the box holds now: text typed (or pasted) and submitted in one go has not been
        // rendered into `text` yet.
        props.onApply((input.current?.value ?? text).trim());
      }}
    >
      <label for="filter-input" class="sr-only">
        Filter runs (MLflow search syntax)
      </label>
      <input
        id="filter-input"
        ref={input}
        data-search
        class={`mono${props.error ? " invalid" : ""}`}
        type="search"
        spellcheck={false}
        autocomplete="off"
        placeholder="metrics.acc > 0.9 and params.model = 'rf'"
        value={text}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? "filter-error" : undefined}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <button type="submit">Search</button>
      {props.value && (
        <button type="button" class="link" onClick={() => props.onApply("")}>
          Clear
        </button>
      )}
      {props.error && (
        <div id="filter-error" class="filter-error" role="alert">
          <pre>{props.error.message}</pre>
          {props.error instanceof ApiError && props.error.hint && (
            <p class="muted">{props.error.hint}</p>
          )}
        </div>
      )}
    </form>
  );
}
