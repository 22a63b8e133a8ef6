// Builds the service's pages from the ES module sources in frontend/ into handoff/static/build/:
// one self-contained script per page (the widget is the one file a shop's <script> tag loads).
// esbuild's output depends only on the sources and the versions in package-lock.json, so a
// build is reproducible; `make setup` runs this when either changed (scripts/frontend.sh).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const PAGES = ["widget", "console", "editor"];
// `node frontend/build.mjs <folder>` builds elsewhere: make test builds a second copy and
// compares it with the served one (scripts/frontend.sh --check).
const outdir = process.argv[2] ? path.resolve(process.argv[2]) : "handoff/static/build";

await build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(PAGES.map((page) => [page, `frontend/${page}/main.js`])),
  outdir,
  bundle: true,
  // A classic script, not a module: the widget is loaded by a plain <script> tag on pages we do
  // not control, and one wrapper keeps every name out of the shop's global scope.
  format: "iife",
  target: ["es2019", "chrome90", "firefox88", "safari14"],
  minify: true,
  // Maps are written beside the bundles for debugging but not linked: customers' browsers never
  // fetch them (load one in the browser's developer tools by hand).
  sourcemap: "external",
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
});
