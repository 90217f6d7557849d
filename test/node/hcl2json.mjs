#!/usr/bin/env node
// hcl2json.mjs: parses the Terraform (*.tf) files of one directory with a real HCL parser,
// @cdktf/hcl2json (HashiCorp's hcl library compiled to WebAssembly; pinned in package.json and
// package-lock.json here), so that tests check generated Terraform with a parser that is not
// ferry's.
//
//   node test/node/hcl2json.mjs DIR
//
// Reads every *.tf file directly in DIR (not in subdirectories; *.tf.json is not read), in name
// order, parses each one on its own and prints one JSON object on stdout:
//
//   {"files": {"main.tf": <parsed>, "variables.tf": <parsed>, ...}}
//
// <parsed> is hcl2json's JSON for the file: blocks become objects keyed by their labels, and each
// block body is an array (a block type may repeat); literal values are JSON values, and every
// other expression is its source text wrapped in "${...}" (`ami = data.x.id` gives
// "ami": "${data.x.id}"); a literal "$${" stays escaped as "$${". An empty file gives {}. Numbers
// pass through JSON.parse, so integers beyond 2^53 lose precision.
//
// Exit status: 0 parsed; 1 a file does not parse (stderr: "hcl2json: FILE: MESSAGE"); 2 usage,
// DIR missing or without *.tf files; 3 @cdktf/hcl2json not installed (run ./setup.sh test, or
// npm ci --prefix test/node).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE = "@cdktf/hcl2json";

function fail(code, message) {
  process.stderr.write(`hcl2json: ${message}\n`);
  process.exit(code);
}

const args = process.argv.slice(2);
if (args.length !== 1 || args[0] === "") {
  fail(2, "usage: node hcl2json.mjs DIR (parses DIR/*.tf, prints {\"files\": {NAME: JSON}})");
}
const dir = args[0];

let names;
try {
  if (!statSync(dir).isDirectory()) fail(2, `${dir}: not a directory`);
  names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.name.endsWith(".tf"))
    .filter((e) => e.isFile() || (e.isSymbolicLink() && statSync(join(dir, e.name)).isFile()))
    .map((e) => e.name)
    .sort(); // by UTF-16 code unit: the same order on every machine, whatever the locale
} catch (error) {
  fail(2, `${dir}: ${error.code === "ENOENT" ? "no such directory" : error.message}`);
}
if (names.length === 0) fail(2, `${dir}: no .tf files`);

// Resolved from this file's directory (test/node/node_modules), whatever the working directory.
let parse;
try {
  const module = await import(PACKAGE);
  parse = module.parse ?? module.default?.parse;
} catch (error) {
  // ERR_MODULE_NOT_FOUND: the package is not there; MODULE_NOT_FOUND: one of its dependencies.
  if (error.code !== "ERR_MODULE_NOT_FOUND" && error.code !== "MODULE_NOT_FOUND") throw error;
  fail(3, `${PACKAGE} is not installed in ${join(dirname(fileURLToPath(import.meta.url)), "node_modules")} ` +
    `(${error.message.split("\n")[0]}): run ./setup.sh test (or npm ci --prefix test/node)`);
}
if (typeof parse !== "function") fail(3, `${PACKAGE} has no parse(filename, contents) function`);

const files = {};
for (const name of names) {
  const contents = readFileSync(join(dir, name), "utf8");
  try {
    // The file name is only used in the parser's messages ("main.tf:3,7-8: ...").
    files[name] = await parse(name, contents);
  } catch (error) {
    fail(1, `${join(dir, name)}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
process.stdout.write(`${JSON.stringify({ files })}\n`);
