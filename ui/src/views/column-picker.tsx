/** Chooses the params, metrics (last, min, max) and tags shown as columns. */
import { useState } from "preact/hooks";

export interface Keys {
  params: string[];
  metrics: string[];
  tags: string[];
}

export function ColumnPicker(props: {
  keys: Keys | undefined;
  columns: string[];
  onChange: (columns: string[]) => void;
  onClose: () => void;
}) {
  const [needle, setNeedle] = useState("");
  const chosen = new Set(props.columns);
  const toggle = (spec: string) => {
    props.onChange(
      chosen.has(spec) ? props.columns.filter((c) => c !== spec) : [...props.columns, spec],
    );
  };
  const match = (key: string) => key.toLowerCase().includes(needle.toLowerCase());
  const keys = props.keys ?? { params: [], metrics: [], tags: [] };
  const box = (spec: string, label: string) => (
    <label class="check" key={spec}>
      <input type="checkbox" checked={chosen.has(spec)} onChange={() => toggle(spec)} />
      {label}
    </label>
  );
  return (
    <div class="picker card" role="dialog" aria-label="Columns">
      <div class="toolbar">
        <label class="search">
          <span class="sr-only">Find a column</span>
          <input
            type="search"
            placeholder="Find a param, metric or tag"
            value={needle}
            onInput={(e) => setNeedle(e.currentTarget.value)}
            // biome-ignore lint/a11y/noAutofocus: the picker opens to be typed in
            autoFocus
          />
        </label>
        <button type="button" onClick={() => props.onChange([])}>
          None
        </button>
        <button type="button" onClick={props.onClose}>
          Done
        </button>
      </div>
      <div class="picker-groups">
        <fieldset>
          <legend>Metrics</legend>
          {keys.metrics.filter(match).map((key) => (
            <div class="picker-metric" key={key}>
              {box(`m:${key}`, key)}
              {box(`m:${key}:min`, "min")}
              {box(`m:${key}:max`, "max")}
            </div>
          ))}
        </fieldset>
        <fieldset>
          <legend>Params</legend>
          {keys.params.filter(match).map((key) => box(`p:${key}`, key))}
        </fieldset>
        <fieldset>
          <legend>Tags</legend>
          {keys.tags.filter(match).map((key) => box(`t:${key}`, key))}
        </fieldset>
      </div>
    </div>
  );
}
