import { percent } from "../shared/format.js";

export function renderHome() {
  return `<h1>Home</h1><p>Up ${percent(0.042)} this week</p>`;
}
