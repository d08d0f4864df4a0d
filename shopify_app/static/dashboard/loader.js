// Fill sections from the API: a skeleton while waiting, an error with a retry button on failure.
import { api } from "../api.js";
import { errorState, show, skeleton } from "./dom.js";

// Load one API answer into one or more sections; a newer request makes older answers stale.
const generations = {};
export async function loadInto(path, targets, skeletonLines = 3) {
  const key = targets.map(([name]) => name).join(",");
  const generation = (generations[key] || 0) + 1;
  generations[key] = generation;
  const retry = () => loadInto(path, targets, skeletonLines);
  for (const [name] of targets) show(name, "loading", skeleton(skeletonLines));
  let data;
  try {
    data = await api(path);
  } catch (err) {
    if (generations[key] === generation) {
      for (const [name] of targets) show(name, "error", errorState(err.message, retry));
    }
    return;
  }
  if (generations[key] !== generation) return;
  for (const [name, render] of targets) {
    try {
      const result = render(data);
      show(name, result.state, ...result.nodes);
    } catch (err) {
      show(name, "error", errorState(`Unexpected answer from ${path}: ${err.message}`, retry));
    }
  }
}

export function load(name, path, render, skeletonLines) {
  return loadInto(path, [[name, render]], skeletonLines);
}
