import { percent } from "../shared/format.js";

export function renderSettings() {
  return `<h1>Settings</h1><p>Quota used: ${percent(0.5)}</p>`;
}
