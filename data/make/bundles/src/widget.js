// Entry "widget": a small embeddable script sharing one helper.
import { money } from "./shared/format.js";

export const price = (cents) => money(cents / 100);
if (globalThis.document) globalThis.document.title = price(1999);
