// webpack 5 production build of the sample app, with source maps and a stats.json
// carrying what perflab reads (reasons, optimizationBailout, entrypoints, chunks,
// nested modules). OUT comes from the environment (bundles_real.py sets it).
const path = require("path");

const out = path.resolve(process.env.OUT || "out/webpack");

module.exports = {
  mode: "production",
  context: __dirname,
  devtool: "source-map",
  entry: { main: "./src/main.js", admin: "./src/admin.js", widget: "./src/widget.js" },
  output: { path: out, filename: "[name].[contenthash:8].js", chunkFilename: "[name].[contenthash:8].js", clean: true },
  optimization: { splitChunks: { chunks: "all" } },
  performance: { hints: false },
  stats: {
    preset: "normal",
    assets: true,
    chunks: true,
    chunkModules: false,
    chunkGroups: true,
    entrypoints: true,
    modules: true,
    nestedModules: true,
    modulesSpace: Infinity,
    nestedModulesSpace: Infinity,
    reasons: true,
    reasonsSpace: Infinity,
    optimizationBailout: true,
    depth: true,
    ids: true,
    usedExports: false,
    providedExports: false,
    source: false,
    orphanModules: false,
    runtimeModules: true,
    dependentModules: true,
  },
};
