// webpack 4 build of the sample app (src/ copied beside it by bundles_real.py), for
// webpack 4's stats shape: modules under chunks[] (and on top), "not an ECMAScript
// module" bailouts. date-fns 2, as webpack 4's parser predates date-fns 4's syntax;
// Node 17+ needs NODE_OPTIONS=--openssl-legacy-provider (webpack 4 hashes with md4).
const path = require("path");
module.exports = {
  mode: "production",
  context: __dirname,
  devtool: false,
  entry: { main: "./src/main.js", admin: "./src/admin.js", widget: "./src/widget.js" },
  output: { path: path.resolve(process.env.OUT || "out/webpack4"), filename: "[name].[contenthash:8].js", chunkFilename: "[name].[contenthash:8].js" },
  optimization: { splitChunks: { chunks: "all" } },
  performance: { hints: false },
  stats: { source: false, modules: false, chunks: true, chunkModules: true, reasons: true, optimizationBailout: true, maxModules: Infinity, entrypoints: true, depth: true },
};
