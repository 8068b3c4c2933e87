/**
 * Where the page is: everything a view shows (experiments, filter, sort, columns, selection,
 * chart options) lives in the URL's hash, `#/path?key=value`, so a link reproduces the view and
 * the back button undoes a step.
 */
import { useEffect, useState } from "preact/hooks";

export interface Route {
  path: string;
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#/, "") || "/";
  const at = hash.indexOf("?");
  return at < 0
    ? { path: hash, params: new URLSearchParams() }
    : { path: hash.slice(0, at), params: new URLSearchParams(hash.slice(at + 1)) };
}

export function href(path: string, params: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

export function navigate(to: string, { replace = false } = {}): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.dispatchEvent(new Event("routechange"));
}

/**
 * Changes some parameters of the current view. Typing and scrolling replace the entry; a
 * deliberate step (a sort, a new column) pushes one, so Back undoes it.
 */
export function setParams(patch: Record<string, string | undefined>, { replace = true } = {}) {
  const { path, params } = currentRoute();
  for (const [key, value] of Object.entries(patch)) {
    if (value) params.set(key, value);
    else params.delete(key);
  }
  const text = params.toString();
  navigate(`#${path}${text ? `?${text}` : ""}`, { replace });
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    window.addEventListener("hashchange", update);
    window.addEventListener("popstate", update);
    window.addEventListener("routechange", update);
    return () => {
      window.removeEventListener("hashchange", update);
      window.removeEventListener("popstate", update);
      window.removeEventListener("routechange", update);
    };
  }, []);
  return route;
}

/** A comma-separated list parameter. */
export const list = (params: URLSearchParams, key: string): string[] =>
  (params.get(key) ?? "").split(",").filter(Boolean);
