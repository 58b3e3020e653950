// Entry "main": the storefront. Pulls all of lodash and moment (with every locale).
import _ from "lodash";
import moment from "moment";
import { renderHome } from "./routes/home.js";
import { renderReports } from "./routes/reports.js";
import { legacyFormat } from "./legacy.js";
import { money } from "./shared/format.js";

const routes = {
  "/": renderHome,
  "/reports": renderReports,
  // Loaded on demand: its own async chunk.
  "/settings": () => import(/* webpackChunkName: "settings" */ "./routes/settings.js").then((m) => m.renderSettings()),
};

export function start(path) {
  const render = routes[path] || routes["/"];
  const stamp = moment().format("LLLL");
  const names = _.uniq(_.map([3, 1, 2, 3], (n) => `item-${n}`));
  return Promise.resolve(render()).then((html) => `${html}<footer>${stamp} ${names.join(",")} ${money(12.5)} ${legacyFormat(3)}</footer>`);
}

start(globalThis.location ? globalThis.location.pathname : "/").then((html) => {
  if (globalThis.document) globalThis.document.body.innerHTML = html;
});
