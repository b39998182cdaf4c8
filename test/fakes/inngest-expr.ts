// The slice of Inngest's CEL expressions the dev engine (inngest-dev.ts) evaluates: alternatives
// joined by `||` (CEL's precedence: `&&` binds tighter; no parentheses), each of clauses joined by
// `&&`, each `<operand> == <operand>` or `!=`, where an operand is a path into the trigger
// (`event.data.x`) or the incoming event (`async.data.x`), a quoted string ('…' or JSON "…"), a
// number, true, false or null. That covers every trigger filter, wait match and cancel foreman
// declares; anything else throws, so an unsupported expression is a loud test failure, never a match.

type Scope = { event?: unknown; async?: unknown };

const CLAUSE = /^(.+?)\s*(==|!=)\s*(.+)$/;

function operand(text: string, scope: Scope): unknown {
  const t = text.trim();
  if (/^'[^']*'$/.test(t)) return t.slice(1, -1);
  if (/^"(?:[^"\\]|\\.)*"$/.test(t)) return JSON.parse(t) as string;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === "true" || t === "false") return t === "true";
  if (t === "null") return null;
  const path = /^(event|async)((?:\.\w+)+)$/.exec(t);
  if (!path) throw new Error(`inngest-expr: unsupported operand ${JSON.stringify(t)}`);
  let value: unknown = scope[path[1] as "event" | "async"];
  for (const key of (path[2] as string).slice(1).split(".")) {
    value = value && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/**
 * True when every clause of some alternative holds. A missing field compares like CEL's absent value:
 * equal to nothing.
 */
export function evaluate(expression: string, scope: Scope): boolean {
  if (/[()]/.test(expression.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, "")))
    throw new Error(`inngest-expr: unsupported parentheses in ${JSON.stringify(expression)}`);
  return expression.split("||").some((alternative) => allHold(alternative, scope));
}

function allHold(expression: string, scope: Scope): boolean {
  return expression.split("&&").every((clause) => {
    const m = CLAUSE.exec(clause.trim());
    if (!m) throw new Error(`inngest-expr: unsupported clause ${JSON.stringify(clause.trim())}`);
    const left = operand(m[1] as string, scope);
    const right = operand(m[3] as string, scope);
    const equal = left !== undefined && right !== undefined && left === right;
    return m[2] === "==" ? equal : !equal;
  });
}
