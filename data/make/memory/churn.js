// Request-like garbage shared by leak.js and steady.js: headers, a parsed JSON
// body, a response buffer — most of it dies young, as in a web server.
"use strict";
const ROUTES = ["/", "/api/search", "/api/cart", "/static/app.js"];

function handle(id) {
  const route = ROUTES[id % ROUTES.length];
  const headers = {
    host: "shop.example",
    "user-agent": `bench/${id % 17}`,
    accept: "application/json",
    "x-request-id": `req-${id.toString(16).padStart(8, "0")}`,
  };
  const body = JSON.parse(JSON.stringify({ q: "shoes", page: id % 9, tags: ["a", "b", "c"] }));
  const response = Buffer.from(JSON.stringify({ route, items: new Array(8).fill(id) }));
  const scratch = [];
  for (let i = 0; i < 20; i++) scratch.push({ i, s: route + i }); // short-lived garbage
  return { id, route, headers, body, size: response.length, at: Date.now(), note: "x".repeat(200 + (id % 64)) };
}

module.exports = { handle };
