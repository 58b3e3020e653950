// The same request churn as leak.js, bounded: the cache keeps the last 2,000
// requests (oldest evicted first), so the heap saw-tooths around a flat level.
//
//   node --trace-gc steady.js <samples.jsonl> [seconds=25]
"use strict";
const fs = require("fs");
const { handle } = require("./churn");

const out = process.argv[2] || "memory.jsonl";
const seconds = Number(process.argv[3] || 25);
const LIMIT = 2000;
const sessions = new Map();

const fd = fs.openSync(out, "w");
function sample() {
  fs.writeSync(fd, JSON.stringify({ time: Date.now(), ...process.memoryUsage() }) + "\n");
}

console.log(`steady: handling requests for ${seconds} s, samples to ${out}`);
let id = 0;
const tick = setInterval(() => {
  for (let i = 0; i < 10; i++) {
    const req = handle(++id);
    sessions.set(req.id, req);
    if (sessions.size > LIMIT) sessions.delete(sessions.keys().next().value); // evict oldest
  }
}, 2);
const sampler = setInterval(sample, 100);
sample();
setTimeout(() => {
  clearInterval(tick);
  clearInterval(sampler);
  sample();
  fs.closeSync(fd);
  console.log(`steady: done, ${sessions.size} requests retained`);
}, seconds * 1000);
