// A CommonJS module imported from ESM: it writes through `module.exports` in a loop,
// so webpack cannot analyse its exports (a "CommonJS bailout") nor tree-shake it.
function legacyFormat(n) {
  return "#" + String(n).padStart(4, "0");
}
function unusedLegacyHelper(s) {
  return s.split("").reverse().join("");
}
const helpers = { legacyFormat, unusedLegacyHelper };
for (const key of Object.keys(helpers)) module.exports[key] = helpers[key];
