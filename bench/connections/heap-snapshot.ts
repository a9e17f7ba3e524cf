// A V8 heap snapshot (.heapsnapshot) read as a graph, for two questions about memory per
// connection: which kinds of objects grew, and how much would be freed if some object stopped
// holding some field (the bytes reachable from the GC roots, with those edges ignored).
import { readFileSync } from 'node:fs';

interface RawSnapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: unknown[]; edge_fields: string[]; edge_types: unknown[] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Objects of class `className` no longer holding `fields` (property names). */
export interface Cut {
  className: string;
  fields: readonly string[];
}

export interface Category {
  bytes: number;
  count: number;
}

function field(fields: readonly string[], name: string): number {
  const at = fields.indexOf(name);
  if (at === -1) throw new Error(`heap snapshot without node/edge field "${name}"`);
  return at;
}

function typeNames(types: readonly unknown[]): string[] {
  const first = types[0];
  if (!Array.isArray(first)) throw new Error('heap snapshot without a type list');
  return first.map(String);
}

export class HeapGraph {
  private readonly nodeWidth: number;
  private readonly edgeWidth: number;
  private readonly nodeTypes: string[];
  private readonly edgeTypes: string[];
  private readonly at: { type: number; name: number; size: number; edges: number };
  private readonly edgeAt: { type: number; name: number; to: number };
  /** Index in `edges` of each node's first edge (node i's edges end where node i + 1's begin). */
  private readonly firstEdge: Uint32Array;

  private constructor(private readonly raw: RawSnapshot) {
    const { node_fields: nodeFields, edge_fields: edgeFields, node_types, edge_types } = raw.snapshot.meta;
    this.nodeWidth = nodeFields.length;
    this.edgeWidth = edgeFields.length;
    this.nodeTypes = typeNames(node_types);
    this.edgeTypes = typeNames(edge_types);
    this.at = {
      type: field(nodeFields, 'type'),
      name: field(nodeFields, 'name'),
      size: field(nodeFields, 'self_size'),
      edges: field(nodeFields, 'edge_count'),
    };
    this.edgeAt = {
      type: field(edgeFields, 'type'),
      name: field(edgeFields, 'name_or_index'),
      to: field(edgeFields, 'to_node'),
    };
    const count = raw.nodes.length / this.nodeWidth;
    this.firstEdge = new Uint32Array(count + 1);
    for (let node = 0, edge = 0; node < count; node++) {
      this.firstEdge[node] = edge;
      edge += raw.nodes[node * this.nodeWidth + this.at.edges] * this.edgeWidth;
      this.firstEdge[node + 1] = edge;
    }
  }

  static read(path: string): HeapGraph {
    return new HeapGraph(JSON.parse(readFileSync(path, 'utf8')) as RawSnapshot);
  }

  private get count(): number {
    return this.firstEdge.length - 1;
  }

  private nodeType(node: number): string {
    return this.nodeTypes[this.raw.nodes[node * this.nodeWidth + this.at.type]];
  }

  private nodeName(node: number): string {
    return this.raw.strings[this.raw.nodes[node * this.nodeWidth + this.at.name]];
  }

  private edgeName(edge: number): string {
    const type = this.edgeTypes[this.raw.edges[edge + this.edgeAt.type]];
    const name = this.raw.edges[edge + this.edgeAt.name];
    return type === 'element' || type === 'hidden' ? String(name) : this.raw.strings[name];
  }

  /** Self sizes by "<type> <constructor>" (strings and code lumped together). */
  categories(): Map<string, Category> {
    const categories = new Map<string, Category>();
    for (let node = 0; node < this.count; node++) {
      const type = this.nodeType(node);
      const name = type.includes('string') ? '(string)' : type === 'code' ? '' : this.nodeName(node).slice(0, 50);
      const key = `${type} ${name}`.trim();
      const category = categories.get(key) ?? { bytes: 0, count: 0 };
      category.bytes += this.raw.nodes[node * this.nodeWidth + this.at.size];
      category.count++;
      categories.set(key, category);
    }
    return categories;
  }

  /** Bytes reachable from the root through strong edges, not following the `cuts`. */
  reachableBytes(cuts: readonly Cut[] = []): number {
    const byClass = new Map(cuts.map((cut) => [cut.className, new Set(cut.fields)]));
    const seen = new Uint8Array(this.count);
    const stack = [0];
    seen[0] = 1;
    let bytes = 0;
    while (stack.length > 0) {
      const node = stack.pop()!;
      bytes += this.raw.nodes[node * this.nodeWidth + this.at.size];
      const cut = this.nodeType(node) === 'object' ? byClass.get(this.nodeName(node)) : undefined;
      for (let edge = this.firstEdge[node]; edge < this.firstEdge[node + 1]; edge += this.edgeWidth) {
        if (this.edgeTypes[this.raw.edges[edge + this.edgeAt.type]] === 'weak') continue;
        const to = this.raw.edges[edge + this.edgeAt.to] / this.nodeWidth;
        if (seen[to] || cut?.has(this.edgeName(edge))) continue;
        seen[to] = 1;
        stack.push(to);
      }
    }
    return bytes;
  }
}
