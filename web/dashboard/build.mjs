// Bundles the dashboard into dist/, which is committed and embedded in the
// Go binary (web/dashboard.go): the page must work on a closed network, so
// everything it loads, fonts included, comes out of this build.
//
//   node web/dashboard/build.mjs
//
// dist/index.html names its script, style sheet and fonts by content hash
// (assets/main-XXXX.js), so the server can let browsers cache them for a
// year and the page itself is the only thing revalidated.
import * as esbuild from 'esbuild';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.join(here, '..');
const nodeModules = path.join(web, 'node_modules');
const dist = path.join(here, 'dist');

// The fonts: Noto Sans for Latin script (English, digits, punctuation) and
// Noto Sans Georgian for Mkhedruli, each in the two weights the page uses.
// Only these subsets: the pages show no Cyrillic or Greek text.
const FONTS = [
  { pkg: '@fontsource/noto-sans', subset: 'latin' },
  { pkg: '@fontsource/noto-sans-georgian', subset: 'georgian' },
];
const WEIGHTS = [400, 700];

// fontFaces takes the @font-face rules for FONTS out of the packages' own
// style sheets (so the unicode-range stays what Fontsource publishes) and
// keeps only their woff2 source: every browser that runs the page's ES
// modules reads woff2, so the woff fallback would be dead weight.
async function fontFaces() {
  let css = '';
  for (const { pkg, subset } of FONTS) {
    for (const weight of WEIGHTS) {
      const sheet = await readFile(path.join(nodeModules, pkg, `${weight}.css`), 'utf8');
      const name = `${path.basename(pkg)}-${subset}-${weight}-normal`;
      const m = sheet.match(new RegExp(`/\\* ${name} \\*/\\s*(@font-face\\s*\\{[^}]*\\})`));
      if (!m) throw new Error(`${pkg}/${weight}.css has no rule for ${name}`);
      const rule = m[1]
        .replace(/,\s*url\([^)]*\.woff\)\s*format\('woff'\)/, '')
        .replace(/url\(\.\/files\//, `url(./${pkg}/files/`);
      if (/\.woff\)/.test(rule) || !/\.woff2\)/.test(rule)) throw new Error(`unexpected font sources in ${name}: ${rule}`);
      css += rule + '\n';
    }
  }
  return css;
}

// fontsPlugin serves the import of "virtual:fonts.css" from fontFaces,
// resolving its url()s inside node_modules so esbuild copies the woff2
// files into dist/assets/fonts under hashed names.
const fontsPlugin = {
  name: 'fonts',
  setup(build) {
    build.onResolve({ filter: /^virtual:fonts\.css$/ }, () => ({ path: 'fonts.css', namespace: 'fonts' }));
    build.onLoad({ filter: /.*/, namespace: 'fonts' }, async () => ({
      contents: await fontFaces(),
      loader: 'css',
      resolveDir: nodeModules,
    }));
  },
};

await rm(dist, { recursive: true, force: true });
await mkdir(path.join(dist, 'assets'), { recursive: true });

const result = await esbuild.build({
  // Fixed, so the content hashes (which cover the inputs' paths) are the
  // same from whichever directory the build is run.
  absWorkingDir: web,
  entryPoints: { main: path.join(here, 'src', 'main.js') },
  outdir: path.join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: 'fonts/[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  loader: { '.woff2': 'file' },
  // The licences go to one file beside the bundle (LICENSES.txt below), not
  // into the minified code.
  legalComments: 'none',
  metafile: true,
  plugins: [fontsPlugin],
  logLevel: 'warning',
});

// The outputs, by kind, as the page must name them.
const rel = (p) => path.relative(dist, path.resolve(web, p)).split(path.sep).join('/');
const outputs = Object.keys(result.metafile.outputs).map(rel);
const js = outputs.find((p) => /^assets\/main-[^/]+\.js$/.test(p));
const css = outputs.find((p) => /^assets\/main-[^/]+\.css$/.test(p));
const fonts = outputs.filter((p) => p.endsWith('.woff2'));
if (!js || !css || fonts.length !== FONTS.length * WEIGHTS.length) {
  throw new Error(`unexpected outputs: ${outputs.join(', ')}`);
}

// The page names the script, the style sheet and the fonts every language
// needs at once (Latin digits and the Georgian language button are on the
// page in both), so the browser fetches them in parallel with the script.
const preload = fonts
  .filter((f) => f.includes('-400-'))
  .map((f) => `<link rel="preload" href="${f}" as="font" type="font/woff2" crossorigin>`)
  .join('\n    ');
let html = await readFile(path.join(here, 'src', 'index.html'), 'utf8');
html = html.replace('%CSS%', css).replace('%JS%', js).replace('%PRELOAD%', preload);
if (/%[A-Z]+%/.test(html)) throw new Error('index.html has a placeholder left');
await writeFile(path.join(dist, 'index.html'), html);

// The third-party code and fonts in the bundle are redistributed with the
// binary: their licences go with them, in one file the page links to.
const packages = new Map(); // directory -> name
for (const input of Object.keys(result.metafile.inputs)) {
  // The innermost node_modules names the package (echarts/node_modules/tslib is tslib).
  const m = input.match(/^(?:[^:]+:)?(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//);
  if (m) packages.set(path.resolve(web, m[1]), m[2]);
}
for (const { pkg } of FONTS) packages.set(path.join(nodeModules, pkg), pkg);
let licences = 'Third-party software and fonts in the Civic Ledger dashboard, with their licences.\n';
for (const [dir, name] of [...packages].sort((a, b) => a[1].localeCompare(b[1]))) {
  const meta = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
  licences += `\n${'='.repeat(72)}\n${name} ${meta.version} (${meta.license})\n${'='.repeat(72)}\n`;
  for (const file of ['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'NOTICE']) {
    try {
      licences += '\n' + (await readFile(path.join(dir, file), 'utf8')).trim() + '\n';
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  }
}
await writeFile(path.join(dist, 'LICENSES.txt'), licences);

// manifest.json says what the build was made from and what it wrote, so
// a Go test (web/dashboard_test.go) finds a dist/ left stale by a change
// to the sources or the lock file, without node.
const manifest = { inputs: await inputDigest(), files: {} };
for (const p of [...outputs, 'index.html', 'LICENSES.txt'].sort()) {
  manifest.files[p] = (await readFile(path.join(dist, p))).length;
}
await writeFile(path.join(dist, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

for (const [p, size] of Object.entries(manifest.files)) {
  console.log(`${p.padEnd(70)} ${(size / 1024).toFixed(1).padStart(8)} KiB`);
}

// inputDigest is the SHA-256, in hex, of web/package-lock.json,
// web/dashboard/build.mjs and every file under web/dashboard/src, taken
// in the order of their paths relative to web/ (with "/"), each as
// "path\nlength\n" followed by its bytes.
async function inputDigest() {
  const files = ['package-lock.json', 'dashboard/build.mjs'];
  for (const entry of await readdir(path.join(here, 'src'), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.push(path.relative(web, path.join(entry.parentPath ?? entry.path, entry.name)).split(path.sep).join('/'));
  }
  files.sort();
  const h = createHash('sha256');
  for (const f of files) {
    const b = await readFile(path.join(web, f));
    h.update(`${f}\n${b.length}\n`);
    h.update(b);
  }
  return h.digest('hex');
}
