/** The page: a header, and the view the URL names. */
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { list, useRoute } from "./route.ts";
import { ComparePage } from "./views/compare.tsx";
import { ExperimentsPage } from "./views/experiments.tsx";
import { ModelPage, ModelsPage } from "./views/models.tsx";
import { RunPage } from "./views/run-page.tsx";
import { RunsPage } from "./views/runs-page.tsx";

const KEYS: [string, string][] = [
  ["/", "focus the filter or search box"],
  ["j / k", "next / previous row"],
  ["Enter", "open the focused row"],
  ["x", "select the focused run"],
  ["c", "compare the selected runs"],
  ["g e / g m", "go to experiments / models"],
  ["?", "show or hide this help"],
];

function Help({ onClose }: { onClose: () => void }) {
  return (
    <div class="dialog-backdrop">
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="help-title">
        <h2 id="help-title">Keyboard</h2>
        <table class="plain">
          <tbody>
            {KEYS.map(([key, what]) => (
              <tr key={key}>
                <td>
                  <kbd>{key}</kbd>
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </div>
  );
}

const typing = (target: EventTarget | null) =>
  target instanceof HTMLElement &&
  (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));

function App() {
  const route = useRoute();
  const [help, setHelp] = useState(false);
  useEffect(() => {
    let pending = "";
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") setHelp(false);
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (pending === "g") {
        pending = "";
        if (event.key === "e") location.hash = "#/";
        if (event.key === "m") location.hash = "#/models";
        return;
      }
      if (event.key === "g") pending = "g";
      else if (event.key === "?") setHelp((h) => !h);
      else if (event.key === "/") {
        const box = document.querySelector<HTMLElement>("[data-search]");
        if (box) {
          event.preventDefault();
          box.focus();
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const { path, params } = route;
  let view: preact.JSX.Element;
  if (path.startsWith("/runs")) view = <RunsPage params={params} />;
  else if (path.startsWith("/run/")) {
    view = <RunPage runId={decodeURIComponent(path.slice(5))} params={params} />;
  } else if (path.startsWith("/compare"))
    view = <ComparePage runIds={list(params, "r")} params={params} />;
  else if (path === "/models") view = <ModelsPage />;
  else if (path.startsWith("/models/"))
    view = <ModelPage name={decodeURIComponent(path.slice(8))} />;
  else view = <ExperimentsPage params={params} />;
  const section = path.startsWith("/models") ? "models" : "experiments";
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById("main")?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href="#/">
          mlruns
        </a>
        <nav aria-label="Sections">
          <a href="#/" aria-current={section === "experiments" ? "page" : undefined}>
            Experiments
          </a>
          <a href="#/models" aria-current={section === "models" ? "page" : undefined}>
            Models
          </a>
        </nav>
        <button type="button" class="link" onClick={() => setHelp(true)} aria-label="Keyboard help">
          ?
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {view}
      </main>
      {help && <Help onClose={() => setHelp(false)} />}
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
