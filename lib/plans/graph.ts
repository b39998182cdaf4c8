// A plan's local dependency graph, checked before anything is written: every `depends_on` entry is a
// ref of the same plan or an existing task's id (checked in the database by create.ts), refs are
// unique, and the plan's own edges form no cycle. A cycle is reported with its members in order
// (a → b → c → a, "→" reading "depends on") and the field of the edge that closes it.
import { DomainError } from "../errors.ts";
import { ID_PATTERN } from "../ids.ts";

export interface PlanNode {
  ref: string;
  depends_on?: string[] | undefined;
}

export interface PlanGraph {
  /** Per task (input order): indexes of the plan tasks it depends on. */
  local: number[][];
  /** Existing task ids the plan depends on, with the field each one came from. */
  existing: { id: string; field: string }[];
}

const invalid = (field: string, message: string, details?: Record<string, unknown>) =>
  new DomainError("VALIDATION", `${field}: ${message}`, { field, ...(details ? { details } : {}) });

export function planGraph(nodes: readonly PlanNode[]): PlanGraph {
  const index = new Map<string, number>();
  nodes.forEach((n, i) => {
    const first = index.get(n.ref);
    if (first !== undefined)
      throw invalid(`tasks.${i}.ref`, `'${n.ref}' is already the ref of tasks.${first}.`);
    index.set(n.ref, i);
  });
  const existing: PlanGraph["existing"] = [];
  const local = nodes.map((n, i) =>
    (n.depends_on ?? []).flatMap((dep, j) => {
      const target = index.get(dep);
      if (target !== undefined) return [target];
      const field = `tasks.${i}.depends_on.${j}`;
      if (!ID_PATTERN.test(dep)) {
        throw invalid(field, `'${dep}' is neither the ref of a task in this plan nor a task id.`);
      }
      existing.push({ id: dep, field });
      return [];
    }),
  );
  const cycle = findCycle(local);
  if (cycle) {
    const refs = cycle.map((i) => (nodes[i] as PlanNode).ref);
    const [from, to] = [cycle.at(-2) as number, cycle.at(-1) as number];
    const j = (nodes[from]?.depends_on ?? []).indexOf(refs.at(-1) as string);
    throw invalid(
      `tasks.${from}.depends_on.${j}`,
      `the plan's dependencies form a cycle: ${refs.join(" → ")} ("→" reads "depends on").`,
      { cycle: refs, tasks: cycle.map((i) => `tasks.${i}`), closing: { from, to } },
    );
  }
  return { local, existing };
}

/** The first cycle found by a depth-first walk in input order, as node indexes with the first repeated
 *  at the end; undefined for a DAG. Iterative, so a 100-task chain cannot overflow the stack. */
export function findCycle(edges: readonly number[][]): number[] | undefined {
  const state = new Uint8Array(edges.length); // 0 unseen · 1 on the current path · 2 finished
  for (let root = 0; root < edges.length; root++) {
    if (state[root] !== 0) continue;
    const path: number[] = [root];
    const next: number[] = [0];
    state[root] = 1;
    while (path.length > 0) {
      const top = path.length - 1;
      const node = path[top] as number;
      const deps = edges[node] ?? [];
      const k = next[top] as number;
      if (k >= deps.length) {
        state[node] = 2;
        path.pop();
        next.pop();
        continue;
      }
      next[top] = k + 1;
      const dep = deps[k] as number;
      if (state[dep] === 1) return [...path.slice(path.indexOf(dep)), dep];
      if (state[dep] === 0) {
        state[dep] = 1;
        path.push(dep);
        next.push(0);
      }
    }
  }
  return undefined;
}
