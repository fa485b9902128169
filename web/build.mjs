// Builds the browser pages the civic binary embeds (package web):
//
//   node web/build.mjs             GraphiQL, then the dashboard (if present)
//   node web/build.mjs graphiql    GraphiQL only
//   node web/build.mjs dashboard   the dashboard only
//
// after `npm ci` in web/ (the versions are those of web/package-lock.json).
// GraphiQL goes to web/graphiql/dist: minified, content-hashed file names,
// Monaco's workers bundled beside it, and nothing loaded from any other
// origin. The dashboard has a build of its own, web/dashboard/build.mjs,
// run from here as a separate process so the two stay independent.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { buildSchema, parse, validate, getOperationAST } from 'graphql';

const web = dirname(fileURLToPath(import.meta.url));
const repo = dirname(web);

const targets = process.argv.slice(2);
const wanted = (name) => targets.length === 0 || targets.includes(name);
for (const t of targets) {
  if (t !== 'graphiql' && t !== 'dashboard') {
    console.error(`build.mjs: unknown target ${JSON.stringify(t)}: want graphiql, dashboard or nothing (both)`);
    process.exit(2);
  }
}

if (wanted('graphiql')) await buildGraphiQL();
if (wanted('dashboard')) buildDashboard();

// buildDashboard runs the dashboard's own build, when there is one.
function buildDashboard() {
  const script = join(web, 'dashboard', 'build.mjs');
  if (!existsSync(script)) {
    if (targets.includes('dashboard')) {
      console.error('build.mjs: web/dashboard/build.mjs does not exist');
      process.exit(1);
    }
    return;
  }
  const r = spawnSync(process.execPath, [script], { cwd: web, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

async function buildGraphiQL() {
  const root = join(web, 'graphiql');
  const out = join(root, 'dist');
  const catalogue = loadExamples(join(root, 'examples'));
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  const common = {
    bundle: true,
    minify: true,
    target: ['es2022'],
    logLevel: 'warning',
    // The licences of what is bundled are written once, to LICENSES.txt.
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    write: true,
    outdir: out,
  };

  // Monaco's workers: classic workers, one file each, named by content.
  const workerEntries = {
    editor: 'monaco-editor/esm/vs/editor/editor.worker.js',
    json: 'monaco-editor/esm/vs/language/json/json.worker.js',
    graphql: 'monaco-graphql/esm/graphql.worker.js',
  };
  const workers = {};
  const results = [];
  for (const [label, entry] of Object.entries(workerEntries)) {
    const r = await esbuild.build({
      ...common,
      absWorkingDir: web,
      entryPoints: { [`${label}.worker`]: entry },
      entryNames: '[name]-[hash]',
      format: 'iife',
    });
    results.push(r);
    workers[label] = Object.keys(r.metafile.outputs).map((f) => f.split('/').pop())[0];
  }

  const main = await esbuild.build({
    ...common,
    absWorkingDir: web,
    entryPoints: { graphiql: 'graphiql/src/main.jsx' },
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    format: 'esm',
    splitting: true,
    jsx: 'automatic',
    loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'dataurl', '.png': 'dataurl' },
    define: { ...common.define, CIVIC_WORKERS: JSON.stringify(workers) },
    plugins: [examplesModule(catalogue), monacoStyles(), latinFonts()],
  });
  results.push(main);
  // BUILD_METAFILE=path writes esbuild's metafile, to see what takes the room
  // (esbuild's analyzeMetafile reads it).
  if (process.env.BUILD_METAFILE) writeFileSync(process.env.BUILD_METAFILE, JSON.stringify(main.metafile));

  // Monaco's modules import their style sheets one by one (monacoStyles
  // empties them), which leaves empty .css chunks nothing loads.
  for (const [f, o] of Object.entries(main.metafile.outputs)) {
    if (f.endsWith('.css') && o.bytes === 0) rmSync(join(web, f));
  }
  const outputs = Object.keys(main.metafile.outputs).map((f) => relative(out, join(web, f)));
  const js = outputs.find((f) => /^graphiql-[A-Z0-9]+\.js$/.test(f));
  const css = outputs.find((f) => /^graphiql-[A-Z0-9]+\.css$/.test(f));
  if (!js || !css) throw new Error(`build.mjs: no entry script or style sheet among ${outputs.join(', ')}`);
  const html = readFileSync(join(root, 'src', 'index.html'), 'utf8')
    .replace('{{JS}}', `graphiql/${js}`)
    .replace('{{CSS}}', `graphiql/${css}`);
  writeFileSync(join(out, 'index.html'), html);
  writeFileSync(join(out, 'LICENSES.txt'), licences(results.flatMap((r) => Object.keys(r.metafile.inputs))));

  checkOffline(out);
  // What the bundle was made from, so a Go test can tell when it is stale
  // (web/graphiql_test.go recomputes the digest).
  const manifest = { inputs: inputDigest(), files: {} };
  for (const f of readdirSync(out).sort()) manifest.files[f] = statSync(join(out, f)).size;
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

  let total = 0;
  for (const [f, n] of Object.entries(manifest.files)) {
    total += n;
    console.log(`${String(n).padStart(9)}  graphiql/dist/${f}`);
  }
  console.log(`${String(total).padStart(9)}  in all; ${catalogue.reduce((n, r) => n + r.examples.length, 0)} examples for ${catalogue.length} roles`);
}

// examplesModule resolves `import catalogue from 'civic:examples'` to the
// examples, validated.
function examplesModule(catalogue) {
  return {
    name: 'civic-examples',
    setup(build) {
      build.onResolve({ filter: /^civic:examples$/ }, () => ({ path: 'examples', namespace: 'civic' }));
      build.onLoad({ filter: /.*/, namespace: 'civic' }, () => ({ contents: JSON.stringify(catalogue), loader: 'json' }));
    },
  };
}

// monacoStyles drops the style sheets Monaco's modules import one by one:
// graphiql/style.css already holds all of them (with the codicon font
// inlined), and loading both would double them.
function monacoStyles() {
  return {
    name: 'monaco-styles',
    setup(build) {
      build.onLoad({ filter: /[\\/]monaco-editor[\\/].*\.css$/ }, () => ({ contents: '', loader: 'css' }));
    },
  };
}

// latinFonts keeps, of the Roboto and Fira Code faces graphiql/style.css
// inlines, those for Latin script (latin and latin-ext): GraphiQL's own
// text is English, and Georgian, which neither font covers, comes from
// the system's fonts either way. The Cyrillic, Greek and Vietnamese faces
// would be a third of the style sheet, and every one is downloaded with it.
function latinFonts() {
  return {
    name: 'latin-fonts',
    setup(build) {
      build.onLoad({ filter: /[\\/]graphiql[\\/]dist[\\/]style\.css$/ }, (args) => {
        let kept = 0;
        let dropped = 0;
        const css = readFileSync(args.path, 'utf8').replace(/@font-face\s*\{[^}]*\}/g, (face) => {
          const range = face.match(/unicode-range:([^;}]*)/);
          if (!range || /U\+0000-00FF|U\+0100-024F/i.test(range[1])) {
            kept++;
            return face;
          }
          dropped++;
          return '';
        });
        if (kept === 0 || dropped === 0) throw new Error(`build.mjs: graphiql/style.css: kept ${kept} font faces, dropped ${dropped}; its layout changed, check latinFonts`);
        return { contents: css, loader: 'css' };
      });
    },
  };
}

// loadExamples reads web/graphiql/examples: roles.json lists the roles in
// menu order, a directory per role holds its examples (NAME.graphql, with
// NAME.json for its variables). Each must parse, hold one operation and
// be valid against graph/schema, or the build fails.
function loadExamples(dir) {
  const schemaDir = join(repo, 'graph', 'schema');
  const sdl = readdirSync(schemaDir).filter((f) => f.endsWith('.graphqls')).sort()
    .map((f) => readFileSync(join(schemaDir, f), 'utf8')).join('\n');
  const schema = buildSchema(sdl);
  const roles = JSON.parse(readFileSync(join(dir, 'roles.json'), 'utf8'));
  const problems = [];
  const dirs = readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory()).sort();
  for (const d of dirs) {
    if (!roles.some((r) => r.role === d)) problems.push(`${d}/: not a role in roles.json`);
  }
  const catalogue = roles.map((r) => {
    const files = existsSync(join(dir, r.role)) ? readdirSync(join(dir, r.role)).sort() : [];
    const examples = [];
    for (const f of files) {
      if (f.endsWith('.json')) {
        if (!files.includes(f.replace(/\.json$/, '.graphql'))) problems.push(`${r.role}/${f}: variables of no example`);
        continue;
      }
      if (!f.endsWith('.graphql')) {
        problems.push(`${r.role}/${f}: neither .graphql nor .json`);
        continue;
      }
      const name = `${r.role}/${f.replace(/\.graphql$/, '')}`;
      const query = readFileSync(join(dir, r.role, f), 'utf8');
      const comments = [];
      for (const line of query.split('\n')) {
        if (!line.startsWith('#')) break;
        comments.push(line.replace(/^#\s?/, ''));
      }
      if (comments.length < 2) problems.push(`${name}: want a title comment line and a description`);
      let doc;
      try {
        doc = parse(query);
      } catch (err) {
        problems.push(`${name}: ${err.message}`);
        continue;
      }
      const op = getOperationAST(doc);
      if (!op || !op.name) problems.push(`${name}: want exactly one named operation`);
      for (const e of validate(schema, doc)) problems.push(`${name}: ${e.message}`);
      let variables;
      const vf = join(dir, r.role, f.replace(/\.graphql$/, '.json'));
      if (existsSync(vf)) {
        variables = readFileSync(vf, 'utf8').trim();
        try {
          JSON.parse(variables);
        } catch (err) {
          problems.push(`${name}.json: ${err.message}`);
        }
      }
      examples.push({
        name, kind: op?.operation ?? 'query', operationName: op?.name?.value,
        title: comments[0] ?? name, description: comments.slice(1).join(' '), query, variables,
      });
    }
    if (examples.length === 0) problems.push(`${r.role}/: no examples`);
    return { ...r, examples };
  });
  if (catalogue[0]?.role !== 'anonymous') problems.push('roles.json: the first role must be anonymous (GraphiQL opens on its first example)');
  if (problems.length) {
    console.error(`build.mjs: the examples do not fit graph/schema:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  return catalogue;
}

// checkOffline fails the build when the bundle names a CDN it would load
// code from: the point of embedding it is that it loads nothing from
// elsewhere. (The browser test proves it by watching the requests.)
function checkOffline(out) {
  const cdns = /(esm\.sh|unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|fonts\.googleapis\.com|fonts\.gstatic\.com)/;
  for (const f of readdirSync(out)) {
    if (!/\.(js|css|html)$/.test(f)) continue;
    const m = readFileSync(join(out, f), 'utf8').match(cdns);
    if (m) throw new Error(`build.mjs: graphiql/dist/${f} names ${m[1]}: the bundle must load nothing from another origin`);
  }
}

// licences gathers the licence texts of the npm packages bundled.
function licences(inputs) {
  const pkgs = new Map();
  for (const input of inputs) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
    if (!m) continue;
    const last = m[m.length - 1];
    const base = input.slice(0, input.lastIndexOf(last) + last.length);
    if (!pkgs.has(base)) pkgs.set(base, last.slice('node_modules/'.length, -1));
  }
  const parts = [];
  for (const [base, name] of [...pkgs].sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]))) {
    const dir = join(web, base);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `(no licence file; package.json says ${pkg.license})`;
    const head = `${name}@${pkg.version} (${pkg.license ?? 'see below'})`;
    if (!parts.some((p) => p.startsWith(head + '\n'))) parts.push(`${head}\n\n${text}\n`);
  }
  return `GraphiQL as bundled by web/build.mjs includes these packages:\n\n${parts.join('\n' + '-'.repeat(72) + '\n\n')}`;
}

// inputDigest is the SHA-256 of what the bundle is made from: the lock
// file (the packages' versions), this script, and web/graphiql/src and
// web/graphiql/examples, each file by its path and contents.
function inputDigest() {
  const files = ['package-lock.json', 'build.mjs'];
  for (const d of ['graphiql/src', 'graphiql/examples']) {
    const walk = (rel) => {
      for (const f of readdirSync(join(web, rel)).sort()) {
        const p = `${rel}/${f}`;
        if (statSync(join(web, p)).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(d);
  }
  const h = createHash('sha256');
  for (const f of files.sort()) {
    h.update(`${f}\n${readFileSync(join(web, f)).length}\n`);
    h.update(readFileSync(join(web, f)));
  }
  return h.digest('hex');
}
