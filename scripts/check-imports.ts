/**
 * Import checker run by `npm run lint` (`tsx scripts/check-imports.ts` from the repo root).
 * Fails on file-level import cycles anywhere in the project, and on imports in src/ that break the layer order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/** A folder of src/ (one path segment); `inner` orders its subfolders, where '.' stands for the folder's own files. */
export type LayerUnit = string | { readonly folder: string; readonly inner: LayerOrder };
/** Lowest level first; units on the same line are siblings and may not import each other. */
export type LayerOrder = readonly (readonly LayerUnit[])[];

/** The layer order of src/: mirrors ARCHITECTURE.md's layer table. Change both together. */
export const LAYERS: LayerOrder = [
  ['logging'],
  [{ folder: 'layers', inner: [['.'], ['memory', 'redis', 'rabbitmq', 'ipc']] }],
  ['channels'],
  ['routing'],
  ['registry'],
  ['sessions'],
  ['consumers'],
  ['security', 'generic', 'http'],
  ['worker'],
  [{ folder: 'interface', inner: [['common'], ['websocket', 'http'], ['.']] }],
  ['client'],
  ['process'],
  ['module'],
  ['cli', 'testing'],
];

const SCANNED_DIRS = ['src', 'test', 'sample', 'bench', 'scripts'];
const IGNORED_DIR_NAMES = new Set(['node_modules', 'dist', 'dist-sample', 'coverage']);
const IGNORED_PATHS = new Set(['bench/results']);
const SOURCE_FILE = /\.(ts|mts|cts)$/;
const RELATIVE = /^\.\.?(\/|$)/;
const SEE = 'see ARCHITECTURE.md';
const SCRIPT = 'scripts/check-imports.ts';

function listSourceFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory() && !IGNORED_DIR_NAMES.has(entry.name) && !IGNORED_PATHS.has(child)) walk(child);
      else if (entry.isFile() && SOURCE_FILE.test(entry.name)) found.push(child);
    }
  };
  for (const dir of SCANNED_DIRS) if (fs.existsSync(path.join(root, dir))) walk(dir);
  return found.sort();
}

/** Relative specifiers of every import form, including `declare module './x'` augmentations. */
function relativeSpecifiers(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  const names = [...info.importedFiles.map((f) => f.fileName), ...(info.ambientExternalModules ?? [])];
  return names.filter((name) => RELATIVE.test(name));
}

/** The project file a specifier names (tsc's rules: extensionless, `.js` for `.ts`, folder index), else its bare path. */
function resolve(fromRel: string, specifier: string, files: ReadonlySet<string>): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(fromRel), specifier));
  const swapped = base.replace(/\.([mc]?)js$/, '.$1ts');
  const candidates = [swapped, base, `${base}.ts`, `${base}.mts`, `${base}.cts`, `${base}.d.ts`, `${base}/index.ts`];
  return candidates.find((c) => files.has(c)) ?? base;
}

/** Each file's resolved relative imports (root-relative; targets outside the scanned files are kept as bare paths). */
export function buildImportGraph(root: string): Map<string, string[]> {
  const files = listSourceFiles(root);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    const targets = relativeSpecifiers(text).map((spec) => resolve(file, spec, known));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** One concrete cycle per strongly connected component (Tarjan), each as [a, b, ..., a]. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const edges = (v: string): readonly string[] => (graph.get(v) ?? []).filter((w) => graph.has(w));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];

  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    components.push(component);
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);

  return components
    .filter((c) => c.length > 1 || edges(c[0]).includes(c[0]))
    .map((c) => shortestCycleThrough(c.sort()[0], new Set(c), edges))
    .sort((a, b) => a[0].localeCompare(b[0]));
}

/** Breadth-first search inside one component, so the printed cycle is short and stable. */
function shortestCycleThrough(
  start: string,
  within: ReadonlySet<string>,
  edges: (v: string) => readonly string[],
): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const w of edges(queue[i])) {
      if (w === start) {
        const cycle = [start];
        for (let v: string | undefined = queue[i]; v !== undefined && v !== start; v = parent.get(v)) cycle.unshift(v);
        return [start, ...cycle];
      }
      if (within.has(w) && !parent.has(w)) {
        parent.set(w, queue[i]);
        queue.push(w);
      }
    }
  }
  throw new Error(`no cycle through ${start}`); // unreachable for a strongly connected component
}

/** One step from a top-level unit down to a file's most specific unit: its level among siblings and its name. */
interface Step {
  readonly level: number;
  readonly label: string;
}
type Placement = { readonly steps: readonly Step[] } | { readonly unknown: string };

/** Where a file under src/ sits in the layer order; `dirs` are its folders below src/. */
function place(dirs: readonly string[], fileName: string, order: LayerOrder, prefix: string): Placement {
  const wanted = dirs.length > 0 ? dirs[0] : '.';
  for (const [level, units] of order.entries()) {
    for (const unit of units) {
      const folder = typeof unit === 'string' ? unit : unit.folder;
      if (folder !== wanted) continue;
      const label = folder === '.' ? `${prefix.slice(0, -1)} root files` : prefix + folder;
      if (typeof unit === 'string') return { steps: [{ level, label }] };
      const inner = place(dirs.slice(1), fileName, unit.inner, `${label}/`);
      return 'unknown' in inner ? inner : { steps: [{ level, label }, ...inner.steps] };
    }
  }
  return { unknown: dirs.length > 0 ? `src/${prefix}${wanted}/` : `src/${prefix}${fileName}` };
}

/** `file` is root-relative and under src/. */
function placeInSrc(file: string, order: LayerOrder): Placement {
  const parts = file.split('/').slice(1);
  return place(parts.slice(0, -1), parts[parts.length - 1], order, '');
}

function describe(step: Step, depth: number, outer: readonly Step[]): string {
  return depth === 0
    ? `${step.label} (level ${step.level})`
    : `${step.label} (level ${step.level} within ${outer[depth - 1].label})`;
}

/** The layer violation of one import inside src/, if any. */
function layerViolation(from: string, to: string, order: LayerOrder): string | undefined {
  const a = placeInSrc(from, order);
  const b = placeInSrc(to, order);
  if ('unknown' in a || 'unknown' in b) return undefined; // the folder itself is reported once
  const depth = a.steps.findIndex((step, i) => step.label !== b.steps[i]?.label);
  if (depth === -1 || a.steps[depth].level > b.steps[depth].level) return undefined;
  return `${describe(a.steps[depth], depth, a.steps)} may not import ${describe(b.steps[depth], depth, b.steps)}`;
}

/** Why one import by a file in src/ breaks the rules, if it does. */
function importViolation(from: string, to: string, order: LayerOrder): string | undefined {
  if (!to.startsWith('src/')) return 'nothing in src/ may import from outside src/';
  if (from === 'src/index.ts') return undefined; // the public barrel may import anything in src/
  if (to === 'src/index.ts') return `only code outside src/ may import the public barrel; ${SEE}`;
  // A folder's barrel may re-export its own subfolders, although they sit above its root files.
  const isBarrel = /^index\.[mc]?ts$/.test(path.posix.basename(from));
  if (isBarrel && to.startsWith(`${path.posix.dirname(from)}/`)) return undefined;
  const reason = layerViolation(from, to, order);
  return reason && `${reason}; ${SEE}`;
}

/** Layer-order violations for src/: unknown folders, imports leaving src/, upward and sideways imports. */
function findLayerViolations(graph: ReadonlyMap<string, readonly string[]>, order: LayerOrder): string[] {
  const unknown = new Set<string>();
  const bad = new Set<string>();
  for (const [from, targets] of graph) {
    if (!from.startsWith('src/')) continue;
    const placement = placeInSrc(from, order);
    if ('unknown' in placement && from !== 'src/index.ts') {
      unknown.add(
        `${placement.unknown} is not in the layer order: add it to LAYERS in ${SCRIPT} and to ARCHITECTURE.md`,
      );
    }
    for (const to of targets) {
      const reason = importViolation(from, to, order);
      if (reason) bad.add(`${from} imports ${to}: ${reason}`);
    }
  }
  return [...[...unknown].sort(), ...[...bad].sort()];
}

/** Every violation under `root`, one message per line: cycles first, then the layer order of src/. */
export function findImportViolations(root: string, layers: LayerOrder = LAYERS): string[] {
  const graph = buildImportGraph(root);
  const cycles = findCycles(graph).map((cycle) => `import cycle: ${cycle.join(' → ')}`);
  return [...cycles, ...findLayerViolations(graph, layers)];
}

if (require.main === module) {
  const root = process.cwd();
  const violations = findImportViolations(root);
  if (violations.length === 0) {
    console.log('check-imports: no import cycles or layer violations');
  } else {
    for (const line of violations) console.error(line);
    console.error(`check-imports: ${violations.length} violation(s)`);
    process.exitCode = 1;
  }
}
