// Renders every Vega-Lite spec FIGURES_DIR/<name>.vl.json to <name>.svg (vega's headless
// renderer) and <name>.png (librsvg's rsvg-convert), each written then renamed.
//   node web/render-figures.mjs FIGURES_DIR
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node render-figures.mjs FIGURES_DIR');
  process.exit(2);
}

function rsvgConvert(svg, png) {
  try {
    execFileSync('rsvg-convert', ['-f', 'png', '-z', '2', '-b', 'white', '-o', png + '.tmp', svg]);
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error('rsvg-convert not found (Debian package librsvg2-bin; scripts/setup installs it)');
    throw new Error(`rsvg-convert failed on ${svg}: ${e.stderr || e.message}`);
  }
  renameSync(png + '.tmp', png);
}

let specs;
try {
  specs = readdirSync(dir).filter((f) => f.endsWith('.vl.json')).sort();
} catch (e) {
  console.error(`render-figures: cannot read ${dir}: ${e.message}`);
  process.exit(1);
}
let failed = 0;
for (const file of specs) {
  const name = file.slice(0, -'.vl.json'.length);
  const path = join(dir, file);
  try {
    const spec = JSON.parse(readFileSync(path, 'utf8'));
    const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    const out = join(dir, name + '.svg');
    writeFileSync(out + '.tmp', svg);
    renameSync(out + '.tmp', out);
    rsvgConvert(out, join(dir, name + '.png'));
    console.log(`figure ${name}: ${name}.svg, ${name}.png`);
  } catch (e) {
    console.error(`${path}: ${e.message}`);
    failed += 1;
  }
}
if (failed > 0) process.exit(1);
