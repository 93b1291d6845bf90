// npm run check:imports (part of npm test): the import graph of src/ has no cycle and never runs up a layer.
//
// Reads src/**/*.ts with TypeScript's parser, so `import type`, `export ... from`, `import()` and type-position
// `import('...')` count too: a type-only import up a layer is still a part reaching into the one that owns it.
//
// Layers, lowest first; a module may import from its own layer or a lower one, never a higher one:
//   0 foundation:   errors, types, logger, config, diagnostics, util/
//   1 parts:        detection/, wire/, sqlite/, consistency, transaction
//   2 roles:        primary/, replica/ (the two sides of the wire)
//   3 facade:       database, transactions/ (its three transaction drivers)
//   4 entry points: index, adapters/, middleware/, metrics/, compat/, cli/, migrate/
// So detection/, sqlite/ and wire/ never import database.ts or index.ts. A file that matches no layer fails the
// check: place it here first. Imports within one layer are allowed; the cycle check guards them.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, process.argv[2] ?? 'src');

/** [layer, pattern over the path relative to src/] */
const LAYERS = [
  [0, /^(errors|types|logger|config|diagnostics)\.ts$|^util\//],
  [1, /^(detection|wire|sqlite)\/|^(consistency|transaction)\.ts$/],
  [2, /^(primary|replica)\//],
  [3, /^database\.ts$|^transactions\//],
  [4, /^index\.ts$|^(adapters|middleware|metrics|compat|cli|migrate)\//],
];

function layerOf(file) {
  const rel = path.relative(src, file).split(path.sep).join('/');
  return LAYERS.find(([, pattern]) => pattern.test(rel))?.[0];
}

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The relative module specifiers of one file, in order. */
function specifiers(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.filter((s) => s.startsWith('.'));
}

const show = (file) => path.relative(root, file);
const files = sourceFiles(src);
const graph = new Map();
const problems = [];
for (const file of files) {
  const layer = layerOf(file);
  if (layer === undefined) problems.push(`${show(file)} is in no layer: add it to LAYERS in scripts/check-imports.mjs`);
  const targets = [];
  for (const specifier of specifiers(file)) {
    // NodeNext: relative imports name the emitted .js file of a .ts source.
    const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
    if (!graph.has(target) && !files.includes(target)) {
      problems.push(`${show(file)} imports ${specifier}, which is no file in ${show(src)}`);
      continue;
    }
    targets.push(target);
    const targetLayer = layerOf(target);
    if (layer !== undefined && targetLayer !== undefined && targetLayer > layer) {
      problems.push(`${show(file)} (layer ${layer}) imports ${show(target)} (layer ${targetLayer}): an import up a layer`);
    }
  }
  graph.set(file, [...new Set(targets)]);
}

// Depth-first search; a grey node met again closes a cycle, printed as the path around it.
const state = new Map(); // file -> 'grey' while on the stack, 'black' when done
const stack = [];
const visit = (file) => {
  state.set(file, 'grey');
  stack.push(file);
  for (const target of graph.get(file) ?? []) {
    if (state.get(target) === 'grey') {
      problems.push(`cycle: ${[...stack.slice(stack.indexOf(target)), target].map(show).join(' -> ')}`);
    } else if (!state.has(target)) {
      visit(target);
    }
  }
  stack.pop();
  state.set(file, 'black');
};
for (const file of files) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  process.exit(1);
}
const edges = [...graph.values()].reduce((sum, targets) => sum + targets.length, 0);
console.log(`check-imports: ${files.length} modules, ${edges} imports, no cycle, no import up a layer`);
