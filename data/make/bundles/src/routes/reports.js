// The reports route: the only user of the big country table, yet "main" imports it
// statically, so the table ships in main's initial download.
import { format, subMonths, eachDayOfInterval } from "date-fns";
import { COUNTRIES } from "../data/countries.js";

export function renderReports() {
  const end = new Date();
  const days = eachDayOfInterval({ start: subMonths(end, 1), end });
  const rows = COUNTRIES.slice(0, 5).map((c) => `<tr><td>${c.code}</td><td>${c.name}</td></tr>`);
  return `<h1>Reports</h1><p>${days.length} days to ${format(end, "PPP")}</p><table>${rows.join("")}</table>`;
}
