// A real leak: a module-level Map caches every "request" it handles and never
// evicts, so the heap left after each Mark-Compact grows steadily.
//
//   node --trace-gc leak.js <samples.jsonl> [seconds=25]
//
// Every ~100 ms one JSON line of process.memoryUsage() plus Date.now() (field
// "time", ms since the epoch) is appended to <samples.jsonl>; V8's --trace-gc
// lines go to stdout, mixed with this script's own console output.
"use strict";
const fs = require("fs");
const { handle } = require("./churn");

const out = process.argv[2] || "memory.jsonl";
const seconds = Number(process.argv[3] || 25);
const sessions = new Map(); // module-level: lives as long as the process

const fd = fs.openSync(out, "w");
function sample() {
  fs.writeSync(fd, JSON.stringify({ time: Date.now(), ...process.memoryUsage() }) + "\n");
}

console.log(`leak: handling requests for ${seconds} s, samples to ${out}`);
let id = 0;
const tick = setInterval(() => {
  for (let i = 0; i < 10; i++) {
    const req = handle(++id);
    sessions.set(req.id, req); // the leak: never deleted
  }
}, 2);
const sampler = setInterval(sample, 100);
sample();
setTimeout(() => {
  clearInterval(tick);
  clearInterval(sampler);
  sample();
  fs.closeSync(fd);
  console.log(`leak: done, ${sessions.size} requests retained`);
}, seconds * 1000);
