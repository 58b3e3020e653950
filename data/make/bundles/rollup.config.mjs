// rollup build of the same app, for rollup-plugin-visualizer's raw data (template
// "raw-data": version 2, nodeParts/nodeMetas/tree). OUT and STATS come from the
// environment (bundles_real.py sets them).
import commonjs from "@rollup/plugin-commonjs";
import { nodeResolve } from "@rollup/plugin-node-resolve";
import { visualizer } from "rollup-plugin-visualizer";

export default {
  input: { main: "src/main.js", admin: "src/admin.js", widget: "src/widget.js" },
  output: { dir: process.env.OUT || "out/rollup", format: "es", entryFileNames: "[name]-[hash].js" },
  plugins: [
    nodeResolve({ browser: true }),
    commonjs(),
    visualizer({
      template: "raw-data",
      filename: process.env.STATS || "out/rollup-stats.json",
      gzipSize: true,
      brotliSize: true,
    }),
  ],
};
