// Entry "admin": the back office. Imports one lodash function by path (next to the whole
// lodash that "main" ships), date-fns, and opens the reports route on demand.
import debounce from "lodash/debounce";
import { format, addDays } from "date-fns";
import moment from "moment";
import { money } from "./shared/format.js";

const refresh = debounce(() => {
  const when = format(addDays(new Date(), 1), "yyyy-MM-dd");
  return `${when} ${moment().fromNow()} ${money(99)}`;
}, 100);

export function openReports() {
  return import("./routes/reports.js").then((m) => m.renderReports());
}

refresh();
if (globalThis.document) globalThis.document.title = "admin";
